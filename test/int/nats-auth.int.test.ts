/**
 * Authentication, permissions and configuration reload of the embedded NATS server, over
 * raw sockets (exact wire bytes and log lines, spec nats-core §1.3, §2.7, §5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashSync } from 'bcryptjs';
import type { NatsServerOptions } from '../../src/config/options';
import { connectInProcess, type EmbeddedNatsServer } from '../../src/nats/embedded';
import { varz } from '../../src/monitor/nats';
import { captureLogger, type CapturedLogger, rawConnected, RawClient, startServer } from '../helpers/nats-helpers';

const ALICE_HASH = hashSync('alicepw', 8);

/** Raw connection that sent CONNECT with these credentials and got its PONG. */
function login(s: EmbeddedNatsServer, creds: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<RawClient> {
  return rawConnected(s.port, { verbose: false, pedantic: false, ...creds, ...extra });
}

/** Sends CONNECT (+PING) and expects `-ERR 'Authorization Violation'` then close. */
async function expectRefused(s: EmbeddedNatsServer, connect: Record<string, unknown>): Promise<void> {
  const c = await RawClient.connect(s.port);
  await c.waitFor('\r\n');
  c.send(`CONNECT ${JSON.stringify({ verbose: false, ...connect })}\r\nPING\r\n`);
  await c.waitClosed(5000);
  assert.equal(c.afterInfo, "-ERR 'Authorization Violation'\r\n", JSON.stringify(connect));
}

function errLines(log: CapturedLogger): string[] {
  return log.lines.filter((l) => l.startsWith('ERR '));
}

async function withServer(
  opts: Partial<NatsServerOptions>,
  body: (s: EmbeddedNatsServer, log: CapturedLogger) => Promise<void>,
): Promise<void> {
  const log = captureLogger();
  const s = await startServer(opts, log);
  try {
    await body(s, log);
  } finally {
    await s.close();
  }
}

test('users list: good, wrong, unknown and missing credentials; log line names the client and user', async () => {
  await withServer({ users: [{ user: 'alice', password: 'pw' }, { user: 'bob', password: 'pw2' }] }, async (s, log) => {
    const info = JSON.parse((await (await RawClient.connect(s.port)).waitFor('\r\n')).slice(5, -3)) as Record<string, unknown>;
    assert.equal(info.auth_required, true);
    (await login(s, { user: 'alice', pass: 'pw' })).close();
    (await login(s, { user: 'bob', pass: 'pw2' })).close();
    await expectRefused(s, { user: 'alice', pass: 'pw2' });
    await expectRefused(s, { user: 'mallory', pass: 'pw' });
    await expectRefused(s, {});
    const errs = errLines(log);
    assert.match(errs[0], /^ERR 127\.0\.0\.1:\d+ - cid:\d+ - authentication error - User "alice"$/);
    assert.match(errs[1], /^ERR 127\.0\.0\.1:\d+ - cid:\d+ - authentication error - User "mallory"$/);
    assert.match(errs[2], /^ERR 127\.0\.0\.1:\d+ - cid:\d+ - authentication error$/);
  });
});

test('PING before CONNECT is an Authorization Violation; no CONNECT in time is an Authentication Timeout', async () => {
  await withServer({ username: 'u', password: 'p', authTimeout: 300 }, async (s, log) => {
    const early = await RawClient.connect(s.port);
    await early.waitFor('\r\n');
    early.send('PING\r\n');
    await early.waitClosed();
    assert.equal(early.afterInfo, "-ERR 'Authorization Violation'\r\n");
    assert.match(errLines(log)[0], /- authentication error$/);

    const slow = await RawClient.connect(s.port);
    await slow.waitClosed(5000);
    assert.equal(slow.afterInfo, "-ERR 'Authentication Timeout'\r\n");
  });
});

test('bcrypt passwords ($2a$/$2b$) and tokens; ops sent right after CONNECT wait for the check', async () => {
  await withServer({ users: [{ user: 'alice', password: ALICE_HASH }] }, async (s) => {
    const c = await RawClient.connect(s.port);
    await c.waitFor('\r\n');
    // One write: the SUB/PUB/PING must be handled after the (asynchronous) bcrypt check.
    c.send('CONNECT {"verbose":false,"user":"alice","pass":"alicepw"}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n');
    await c.waitFor('PONG\r\n', 5000);
    assert.equal(c.afterInfo, 'MSG foo 1 2\r\nhi\r\nPONG\r\n');
    c.close();
    await expectRefused(s, { user: 'alice', pass: ALICE_HASH });
    await expectRefused(s, { user: 'alice', pass: 'wrong' });
    // A bad password with ops pipelined behind it: none of them runs.
    const bad = await RawClient.connect(s.port);
    await bad.waitFor('\r\n');
    bad.send('CONNECT {"verbose":false,"user":"alice","pass":"nope"}\r\nSUB foo 1\r\nPING\r\n');
    await bad.waitClosed(5000);
    assert.equal(bad.afterInfo, "-ERR 'Authorization Violation'\r\n");
  });
  await withServer({ users: [{ user: 'alice', password: `$2a$${ALICE_HASH.slice(4)}` }] }, async (s) => {
    (await login(s, { user: 'alice', pass: 'alicepw' })).close();
  });
  await withServer({ authorization: hashSync('tok3n', 6) }, async (s) => {
    (await login(s, { auth_token: 'tok3n' })).close();
    await expectRefused(s, { auth_token: 'other' });
  });
});

test('invalid authorization configurations are refused at start with a clear message', async () => {
  const bad: [Partial<NatsServerOptions>, RegExp][] = [
    [{ authorization: 't', users: [{ user: 'a', password: 'b' }] }, /Can not have a token and a users array/],
    [{ username: 'u', password: 'p', users: [{ user: 'a', password: 'b' }] }, /Can not have a single user\/pass and a users array/],
    [{ username: 'u', password: 'p', authorization: 't' }, /Cannot have a user\/pass and token/],
    [{ password: 'p' }, /password is configured without a user name/],
    [{ users: [{ user: 'a', password: 'b' }], noAuthUser: 'zz' }, /no_auth_user: "zz" not present as user/],
    [{ users: [{ user: 'a', password: '$2a$10$tooShort' }] }, /password of user "a" looks like a bcrypt hash but is not a valid one/],
    [{ users: [{ user: 'a', password: 'b' }, { user: 'a', password: 'c' }] }, /duplicate user "a"/],
    [{ users: [{ user: 'a', password: 'b', permissions: { publish: { allow: ['foo..bar'], deny: [] } } }] }, /subject "foo\.\.bar" is not a valid subject/],
  ];
  for (const [opts, re] of bad) await assert.rejects(startServer(opts), re, JSON.stringify(opts));
});

const PERMS_USERS: NatsServerOptions['users'] = [
  {
    user: 'a',
    password: 'pa',
    permissions: {
      publish: { allow: ['foo.>'], deny: ['foo.secret'] },
      subscribe: { allow: ['foo.*', 'q.x grp'], deny: ['foo.bad'] },
    },
  },
  { user: 'b', password: 'pb', permissions: { subscribe: { allow: null, deny: ['foo.secret'] } } },
  { user: 'c', password: 'pc' },
];

test('permission violations: exact -ERR texts, log lines, connection stays open', async () => {
  await withServer({ users: PERMS_USERS }, async (s, log) => {
    const watcher = await login(s, { user: 'c', pass: 'pc' });
    watcher.send('SUB > 1\r\n');
    await watcher.sync();
    const a = await login(s, { user: 'a', pass: 'pa' }, { verbose: true });
    a.send(
      'SUB foo.x 1\r\nSUB foo.> 2\r\nSUB foo.bad 3\r\nSUB > 4\r\nSUB q.x 5\r\nSUB q.x grp 6\r\nSUB q.x other 7\r\n' +
        'PUB foo.secret 1\r\nx\r\nPUB bar 1\r\ny\r\nPUB foo.ok 1\r\nz\r\n',
    );
    await a.sync();
    assert.equal(
      a.afterInfo,
      '+OK\r\nPONG\r\n' + // CONNECT (verbose) and rawConnected's sync
        '+OK\r\n' +
        `-ERR 'Permissions Violation for Subscription to "foo.>"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "foo.bad"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to ">"'\r\n` +
        `-ERR 'Permissions Violation for Subscription to "q.x"'\r\n` +
        '+OK\r\n' +
        `-ERR 'Permissions Violation for Subscription to "q.x" using queue "other"'\r\n` +
        `-ERR 'Permissions Violation for Publish to "foo.secret"'\r\n` +
        `-ERR 'Permissions Violation for Publish to "bar"'\r\n` +
        '+OK\r\n' +
        'PONG\r\n',
    );
    // Only the allowed publish reached the other user's `>` subscription.
    await watcher.sync();
    assert.equal(watcher.afterInfo, 'PONG\r\nPONG\r\nMSG foo.ok 1 1\r\nz\r\nPONG\r\n');
    const errs = errLines(log).map((l) => l.replace(/^ERR 127\.0\.0\.1:\d+ - cid:\d+ - /, ''));
    assert.deepEqual(errs, [
      'Subscription Violation - User "a", Subject "foo.>", SID 2',
      'Subscription Violation - User "a", Subject "foo.bad", SID 3',
      'Subscription Violation - User "a", Subject ">", SID 4',
      'Subscription Violation - User "a", Subject "q.x", SID 5',
      'Subscription Violation - User "a", Subject "q.x", Queue: "other", SID 7',
      'Publish Violation - User "a", Subject "foo.secret"',
      'Publish Violation - User "a", Subject "bar"',
    ]);
    assert.equal(a.ended, false, 'violations do not close the connection');
    a.close();
    watcher.close();
  });
});

test('a wildcard subscription overlapping a deny entry is accepted but never gets denied subjects', async () => {
  await withServer({ users: PERMS_USERS }, async (s) => {
    const b = await login(s, { user: 'b', pass: 'pb' });
    b.send('SUB > 1\r\nSUB foo.* 2\r\nSUB foo.secret 3\r\n');
    await b.sync();
    assert.equal(b.afterInfo, `PONG\r\n-ERR 'Permissions Violation for Subscription to "foo.secret"'\r\nPONG\r\n`);
    const c = await login(s, { user: 'c', pass: 'pc' });
    c.send('PUB foo.secret 1\r\nx\r\nPUB foo.ok 1\r\ny\r\n');
    await c.sync();
    await b.sync();
    const msgs = b.afterInfo.split('\r\n').filter((l) => l.startsWith('MSG'));
    assert.deepEqual(msgs.sort(), ['MSG foo.ok 1 1', 'MSG foo.ok 2 1']);
    // In-process (STAN core) publishes are filtered the same way.
    const nc = connectInProcess(s, 'core');
    nc.publish('foo.secret', Buffer.from('z'));
    nc.publish('foo.more', Buffer.from('w'));
    await b.waitFor('MSG foo.more 2 1\r\nw\r\n');
    await b.sync();
    assert.doesNotMatch(b.afterInfo, /MSG foo\.secret/);
    await nc.close();
    b.close();
    c.close();
  });
});

test('the in-process connection (STAN core) is trusted: no credentials, no permissions', async () => {
  await withServer({ users: [{ user: 'a', password: 'pa', permissions: { subscribe: { allow: ['nothing'], deny: [] } } }] }, async (s) => {
    const nc = connectInProcess(s, 'core');
    const got: string[] = [];
    nc.subscribe('_STAN.>', (subject) => got.push(subject));
    nc.publish('_STAN.pub.x', Buffer.from('1'));
    assert.deepEqual(got, ['_STAN.pub.x']);
    await nc.close();
  });
});

test('allow_responses: a user that may not publish can answer requests it received', async () => {
  const users: NatsServerOptions['users'] = [
    { user: 'svc', password: 'p', permissions: { publish: { allow: [], deny: [] }, subscribe: { allow: ['svc.>'], deny: [] }, allowResponses: { max: 1, expires: 60_000 } } },
    { user: 'cli', password: 'p' },
  ];
  await withServer({ users }, async (s) => {
    const svc = await login(s, { user: 'svc', pass: 'p' });
    svc.send('SUB svc.echo 1\r\n');
    await svc.sync();
    const cli = await login(s, { user: 'cli', pass: 'p' });
    cli.send('SUB _INBOX.r1 9\r\nPUB svc.echo _INBOX.r1 2\r\nhi\r\n');
    await cli.sync();
    await svc.waitFor('MSG svc.echo 1 _INBOX.r1 2\r\nhi\r\n');
    svc.send('PUB _INBOX.r1 3\r\nyes\r\nPUB _INBOX.r1 5\r\nagain\r\nPUB other 1\r\nx\r\n');
    await svc.sync();
    assert.match(svc.afterInfo, /-ERR 'Permissions Violation for Publish to "_INBOX\.r1"'\r\n-ERR 'Permissions Violation for Publish to "other"'\r\nPONG\r\n$/);
    await cli.waitFor('MSG _INBOX.r1 9 3\r\nyes\r\n');
    await cli.sync();
    assert.doesNotMatch(cli.afterInfo, /again/, 'max 1 response');
    svc.close();
    cli.close();
  });
});

test('no_auth_user: clients without credentials get that user and its permissions', async () => {
  const users: NatsServerOptions['users'] = [
    { user: 'anon', password: 'x', permissions: { publish: { allow: ['public.>'], deny: [] } } },
    { user: 'admin', password: 'adminpw' },
  ];
  await withServer({ users, noAuthUser: 'anon' }, async (s, log) => {
    const c = await RawClient.connect(s.port);
    const info = await c.waitFor('\r\n');
    assert.doesNotMatch(info, /auth_required/, 'as nats-server: no auth_required with no_auth_user');
    // /varz says what INFO says.
    assert.equal(varz(s, s.options, {}).auth_required, undefined);
    // Permissions apply even before CONNECT.
    c.send('PING\r\nPUB secret 1\r\nx\r\nCONNECT {"verbose":false}\r\nPUB secret 1\r\nx\r\nPUB public.a 1\r\ny\r\nPING\r\n');
    await c.until((d) => (d.match(/PONG/g) ?? []).length === 2);
    assert.equal(
      c.afterInfo,
      `PONG\r\n-ERR 'Permissions Violation for Publish to "secret"'\r\n-ERR 'Permissions Violation for Publish to "secret"'\r\nPONG\r\n`,
    );
    assert.match(errLines(log)[0], /Publish Violation - User "anon", Subject "secret"$/);
    const admin = await login(s, { user: 'admin', pass: 'adminpw' });
    admin.send('PUB secret 1\r\nx\r\n');
    await admin.sync();
    assert.equal(admin.afterInfo, 'PONG\r\nPONG\r\n');
    await expectRefused(s, { user: 'admin', pass: 'wrong' });
    c.close();
    admin.close();
  });
});

test('reload: added users can log in, removed users are disconnected, permissions are updated', async () => {
  const base = { users: [{ user: 'alice', password: 'pa' }, { user: 'bob', password: ALICE_HASH }] };
  await withServer(base, async (s, log) => {
    const alice = await login(s, { user: 'alice', pass: 'pa' });
    alice.send('SUB foo.a 1\r\nSUB bar 2\r\n');
    await alice.sync();
    const bob = await login(s, { user: 'bob', pass: 'alicepw' });
    const anonymous = await RawClient.connect(s.port); // no CONNECT yet
    await anonymous.waitFor('\r\n');

    const next: NatsServerOptions = {
      ...s.options,
      users: [
        { user: 'alice', password: 'pa', permissions: { subscribe: { allow: ['foo.>'], deny: [] }, publish: { allow: null, deny: ['bar'] } } },
        { user: 'carol', password: 'pc' },
      ],
      authTimeout: 400,
      maxPayload: 1234,
    };
    const r = await s.reload(next);
    assert.deepEqual(r.applied, ['authTimeout', 'users']);
    assert.deepEqual(r.notApplied, ['maxPayload']);
    assert.equal(r.closedConnections, 1);
    assert.equal(s.options.maxPayload, 1024 * 1024, 'not applied at runtime');

    await bob.waitClosed();
    assert.equal(bob.afterInfo, "PONG\r\n-ERR 'Authorization Violation'\r\n");
    assert.ok(log.lines.some((l) => /authentication error - User "bob" \(credentials no longer valid after configuration reload\)$/.test(l)));
    // alice stays, loses the subscription her new permissions refuse, and may not publish on bar.
    alice.send('PUB bar 1\r\nx\r\n');
    await alice.sync();
    assert.equal(
      alice.afterInfo,
      `PONG\r\nPONG\r\n-ERR 'Permissions Violation for Subscription to "bar"'\r\n-ERR 'Permissions Violation for Publish to "bar"'\r\nPONG\r\n`,
    );
    (await login(s, { user: 'carol', pass: 'pc' })).close();
    await expectRefused(s, { user: 'bob', pass: 'alicepw' });
    // The connection without CONNECT now runs into the new, shorter auth timeout... or sends one.
    anonymous.send('CONNECT {"verbose":false,"user":"carol","pass":"pc"}\r\nPING\r\n');
    await anonymous.waitFor('PONG');
    alice.close();
    anonymous.close();
  });
});

test('reload: turning authentication on closes clients without credentials; an invalid configuration changes nothing', async () => {
  await withServer({}, async (s) => {
    const open = await login(s, {});
    await assert.rejects(s.reload({ ...s.options, authorization: 't', users: [{ user: 'a', password: 'b' }] }), /Can not have a token and a users array/);
    await open.sync();
    assert.equal(open.ended, false);
    assert.equal(s.authRequired, false);
    const r = await s.reload({ ...s.options, authorization: 'tok' });
    assert.deepEqual(r.applied, ['authorization']);
    await open.waitClosed();
    assert.match(open.afterInfo, /-ERR 'Authorization Violation'\r\n$/);
    const c = await RawClient.connect(s.port);
    assert.match(await c.waitFor('\r\n'), /"auth_required":true/);
    c.close();
    (await login(s, { auth_token: 'tok' })).close();
  });
});
