/**
 * Authentication and permissions of the embedded NATS server as STAN users meet them: the
 * real `node-nats-streaming` client (its `nats` 1.x connection sends user/pass/token), an
 * in-process server and our executable with a NATS configuration file.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashSync } from 'bcryptjs';
import type { NatsServerOptions } from '../../src/config/options';
import type { ServerHandle } from '../../src/index';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, opts, publish, subscribe, waitEvent, type ConnectOpts, type Stan } from '../helpers/stan';
import { rawConnected, startServer as startNats } from '../helpers/nats-helpers';
import { startServerProc, type Proc } from '../helpers/proc';

const clients: Stan[] = [];
const procs: Proc[] = [];
after(async () => {
  for (const sc of clients) await close(sc).catch(() => undefined);
  for (const p of procs) await p.kill();
});

/** What a STAN client needs (spec stan §1): requests and acks out, inboxes in. */
const STAN_USER_PERMS = {
  publish: { allow: ['_STAN.>', '_INBOX.>'], deny: [] },
  subscribe: { allow: ['_INBOX.>', '_STAN.acks.>'], deny: [] },
};

/** Always the embedded server, whatever STAN_TEST_NATS says: auth is its feature. */
function start(nats: Partial<NatsServerOptions>): Promise<ServerHandle> {
  return startTestServer({ streaming: { natsServerURL: '' }, nats });
}

async function stanConnect(s: ServerHandle, clientID: string, o: ConnectOpts): Promise<Stan> {
  const sc = await connect(s.natsURL, s.clusterID, clientID, o);
  clients.push(sc);
  return sc;
}

async function roundTrip(sc: Stan, channel: string): Promise<void> {
  const sub = await subscribe(sc, channel, opts(sc, (o) => o.setDeliverAllAvailable()));
  const col = new Collector(sub);
  await publish(sc, channel, 'hello');
  assert.deepEqual((await col.waitFor(1)).map((m) => String(m.getData())), ['hello']);
}

async function refusal(s: ServerHandle, o: ConnectOpts): Promise<string> {
  try {
    const sc = await stanConnect(s, `refused-${Math.random().toString(36).slice(2)}`, { ...o, connectTimeout: 3000 });
    await close(sc);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('connect unexpectedly succeeded');
}

test('STAN clients with user/password, bcrypt password and token work end to end', async () => {
  const s = await start({ users: [{ user: 'plain', password: 'pw' }, { user: 'hashed', password: hashSync('s3cret', 8) }] });
  try {
    await roundTrip(await stanConnect(s, 'c-plain', { user: 'plain', pass: 'pw' }), 'orders');
    await roundTrip(await stanConnect(s, 'c-hashed', { user: 'hashed', pass: 's3cret' }), 'invoices');
  } finally {
    await s.close();
  }
  const t = await start({ authorization: 'tok3n' });
  try {
    await roundTrip(await stanConnect(t, 'c-token', { token: 'tok3n' }), 'orders');
  } finally {
    await t.close();
  }
});

test('STAN clients without credentials or with a wrong password are refused: Authorization Violation', async () => {
  const s = await start({ users: [{ user: 'alice', password: hashSync('right', 6) }] });
  try {
    assert.match(await refusal(s, {}), /Authorization Violation/);
    assert.match(await refusal(s, { user: 'alice', pass: 'wrong' }), /Authorization Violation/);
    assert.match(await refusal(s, { user: 'nobody', pass: 'right' }), /Authorization Violation/);
  } finally {
    await s.close();
  }
});

test('a STAN user that may not publish on _STAN.pub.> connects, but its publishes time out', async () => {
  const s = await start({
    users: [
      { user: 'reader', password: 'pw', permissions: { ...STAN_USER_PERMS, publish: { allow: ['_STAN.>', '_INBOX.>'], deny: ['_STAN.pub.>'] } } },
      { user: 'writer', password: 'pw', permissions: STAN_USER_PERMS },
    ],
  });
  try {
    const reader = await stanConnect(s, 'reader', { user: 'reader', pass: 'pw', ackTimeout: 1500 });
    const nc = (reader as unknown as { nc: NodeJS.EventEmitter }).nc;
    const permErr = waitEvent<Error>(nc, 'permission_error', 10000);
    await assert.rejects(publish(reader, 'orders', 'x'), /stan: publish ack timeout/);
    assert.match((await permErr).message, new RegExp(`Permissions Violation for Publish to "_STAN\\.pub\\.${s.clusterID}\\.orders"`));
    // It can still subscribe and receive what others publish: the connection stays open.
    const col = new Collector(await subscribe(reader, 'orders', opts(reader, (o) => o.setDeliverAllAvailable())));
    const writer = await stanConnect(s, 'writer', { user: 'writer', pass: 'pw' });
    await publish(writer, 'orders', 'from-writer');
    assert.deepEqual((await col.waitFor(1)).map((m) => String(m.getData())), ['from-writer']);
  } finally {
    await s.close();
  }
});

test('our executable with a NATS config file: authorization block with users and permissions', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-conf-'));
  const conf = path.join(dir, 'nats.conf');
  fs.writeFileSync(
    conf,
    `authorization {
  users: [
    { user: app, password: "${hashSync('app-pw', 8)}",
      permissions: { publish: ["_STAN.>", "_INBOX.>"], subscribe: ["_INBOX.>", "_STAN.acks.>"] } }
    { user: monitor, password: mon, permissions: { publish: { deny: ">" }, subscribe: { allow: ["metrics.>", "jobs workers"] } } }
  ]
  timeout: 1
}
`,
  );
  const { proc, url } = await startServerProc(['-c', conf]);
  procs.push(proc);
  const sc = await connect(url, 'test-cluster', 'app-1', { user: 'app', pass: 'app-pw' });
  clients.push(sc);
  const col = new Collector(await subscribe(sc, 'orders', opts(sc, (o) => o.setDeliverAllAvailable())));
  await publish(sc, 'orders', 'o1');
  assert.deepEqual((await col.waitFor(1)).map((m) => String(m.getData())), ['o1']);

  const port = Number(new URL(url).port);
  const mon = await rawConnected(port, { verbose: false, pedantic: false, user: 'monitor', pass: 'mon' });
  mon.send('SUB metrics.cpu 1\r\nSUB jobs 2\r\nSUB jobs workers 3\r\nSUB jobs other 4\r\nPUB metrics.cpu 1\r\nx\r\n');
  await mon.sync();
  assert.equal(
    mon.afterInfo,
    'PONG\r\n' +
      `-ERR 'Permissions Violation for Subscription to "jobs"'\r\n` +
      `-ERR 'Permissions Violation for Subscription to "jobs" using queue "other"'\r\n` +
      `-ERR 'Permissions Violation for Publish to "metrics.cpu"'\r\n` +
      'PONG\r\n',
  );
  await proc.waitForLine(/\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - Publish Violation - User "monitor", Subject "metrics\.cpu"/);
  mon.close();
  await assert.rejects(connect(url, 'test-cluster', 'app-2', { user: 'app', pass: 'nope', connectTimeout: 3000 }), /Authorization Violation/);
  await proc.waitForLine(/\[ERR\] 127\.0\.0\.1:\d+ - cid:\d+ - authentication error - User "app"/);
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});

test('invalid authorization in the config file: the executable refuses to start with the reason', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-bad-'));
  const conf = path.join(dir, 'nats.conf');
  fs.writeFileSync(conf, 'authorization {\n  user: a\n  password: b\n  users: [ { user: c, password: d } ]\n}\n');
  await assert.rejects(startServerProc(['-c', conf]), /Can not have a single user\/pass and a users array/);
  fs.writeFileSync(conf, 'no_auth_user: ghost\nauthorization { users: [ { user: c, password: d } ] }\n');
  await assert.rejects(startServerProc(['-c', conf]), /no_auth_user: "ghost" not present as user/);
});

test('-ns: the streaming server logs in to the external NATS with --user/--pass, or the streaming username/password', async () => {
  const ext = await startNats({ users: [{ user: 'stan', password: 'stanpw' }, { user: 'other', password: 'otherpw' }] });
  const url = `nats://127.0.0.1:${ext.port}`;
  try {
    const s = await startTestServer({ streaming: { natsServerURL: url }, nats: { username: 'stan', password: 'stanpw' } });
    try {
      await roundTrip(await stanConnect(s, 'via-ext', { user: 'other', pass: 'otherpw' }), 'orders');
    } finally {
      await s.close();
    }
    // The streaming keys win over the NATS ones.
    const s2 = await startTestServer({
      streaming: { natsServerURL: url, natsUser: 'other', natsPassword: 'otherpw' },
      nats: { username: 'stan', password: 'wrong' },
    });
    await s2.close();
    await assert.rejects(startTestServer({ streaming: { natsServerURL: url }, nats: { username: 'stan', password: 'wrong' } }), /AUTHORIZATION_VIOLATION|Authorization Violation/i);
  } finally {
    await ext.close();
  }
});
