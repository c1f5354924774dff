/**
 * The nats-server child (src/nats/child-server.ts) with the security options passed through
 * to it: the generated configuration is accepted by the real nats-server binary, the child
 * enforces it (checked with a real nats.js client), and the streaming server's own
 * connection gets in with the credentials / CA derived by child-config.ts. Started through
 * the module directly: the CLI flags of auth and TLS are built by other parts of the server.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { defaultServerOptions, type ServerOptions } from '../../src/config/options';
import { ChildNatsServer, startChildNatsAndConnect } from '../../src/nats/child-server';
import { generateTestCerts, type TlsFiles } from '../helpers/certs';
import { freePort } from '../helpers/proc';
import { captureLogger, type CapturedLogger } from '../helpers/nats-helpers';

/** Keeps the lines the child logged through us, with their level (`INF …`, `ERR …`). */
const recordingLogger = (): CapturedLogger => captureLogger(true, true);

async function options(f: (o: ServerOptions) => void): Promise<ServerOptions> {
  const o = defaultServerOptions();
  o.nats.host = '127.0.0.1';
  o.nats.port = await freePort();
  o.nats.cluster = `nats://127.0.0.1:${await freePort()}`;
  f(o);
  return o;
}

async function refusedConnect(url: string, opts: Parameters<typeof connect>[0] = {}): Promise<string> {
  try {
    const nc = await connect({ servers: url, reconnect: false, ...opts });
    await nc.close();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  assert.fail('connection accepted');
}

let certs: TlsFiles;
let certDir: string;
before(async () => {
  certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-child-certs-'));
  certs = await generateTestCerts(certDir);
});
after(() => fs.rmSync(certDir, { recursive: true, force: true }));

test('users with permissions: enforced by the child; the streaming server connects as its named user', async () => {
  const o = await options((x) => {
    x.nats.users = [
      { user: 'stan', password: 'stanpw' },
      { user: 'limited', password: 'pw', permissions: { publish: { allow: ['allowed.>'], deny: [] }, subscribe: { allow: ['_INBOX.>', 'allowed.>'], deny: [] } } },
    ];
    x.streaming.natsUser = 'stan';
    x.streaming.natsPassword = 'stanpw';
  });
  const log = recordingLogger();
  const { child, nc } = await startChildNatsAndConnect(o, '_NSS-test', { log, stanLog: log, monitor: false });
  let client: NatsConnection | undefined;
  try {
    assert.match(await refusedConnect(child.clientURL), /Authorization Violation/i);
    assert.match(await refusedConnect(child.clientURL, { user: 'limited', pass: 'wrong' }), /Authorization Violation/i);
    client = await connect({ servers: child.clientURL, user: 'limited', pass: 'pw' });
    const errors: string[] = [];
    void (async () => {
      for await (const s of client.status()) if (s.type === 'error') errors.push(String(s.data));
    })();
    client.publish('denied.x');
    await client.flush();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(errors.some((e) => /PERMISSIONS_VIOLATION/i.test(e)), errors.join('\n'));
    // The child's own log line, re-logged through our logger at its level.
    assert.ok(log.lines.some((l) => /^ERR .*Publish Violation .*"denied\.x"/.test(l)), log.lines.join('\n'));
    // The streaming server's connection (user stan) works: a round trip through the child.
    const got = new Promise<string>((resolve) => {
      nc.subscribe('allowed.ping', (_s, reply) => {
        if (reply !== undefined) nc.publish(reply, new TextEncoder().encode('pong'));
      });
      void nc.flush().then(async () => {
        const m = await client!.request('allowed.ping', new Uint8Array(), { timeout: 5000 });
        resolve(new TextDecoder().decode(m.data));
      });
    });
    assert.equal(await got, 'pong');
  } finally {
    await client?.close();
    await nc.close();
    await child.close();
  }
  assert.ok(!child.running);
});

test('a token: the streaming server uses it; a client without it is refused', async () => {
  const o = await options((x) => {
    x.nats.authorization = 's3cr3t';
  });
  const log = recordingLogger();
  const { child, nc } = await startChildNatsAndConnect(o, '_NSS-test', { log, stanLog: log, monitor: false });
  try {
    assert.match(await refusedConnect(child.clientURL), /Authorization Violation/i);
    await nc.flush();
    const ok = await connect({ servers: child.clientURL, token: 's3cr3t' });
    await ok.close();
  } finally {
    await nc.close();
    await child.close();
  }
});

test('TLS with client verification: the child requires it, the streaming server connects with its client certificate and the CA', async () => {
  const o = await options((x) => {
    x.nats.tls = true;
    x.nats.tlsVerify = true;
    x.nats.tlsCert = certs.certFile;
    x.nats.tlsKey = certs.keyFile;
    x.nats.tlsCaCert = certs.caFile;
    x.streaming.tls.clientCert = certs.clientCertFile;
    x.streaming.tls.clientKey = certs.clientKeyFile;
  });
  const log = recordingLogger();
  const { child, nc } = await startChildNatsAndConnect(o, '_NSS-test', { log, stanLog: log, monitor: false });
  try {
    await nc.flush();
    // No client certificate: refused by the child.
    const msg = await refusedConnect(child.clientURL, { tls: { caFile: certs.caFile } });
    assert.ok(msg !== '', msg);
    const ok = await connect({ servers: child.clientURL, tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile } });
    await ok.close();
  } finally {
    await nc.close();
    await child.close();
  }
});

test('a users list without the streaming server\'s own user is refused before anything starts', async () => {
  const o = await options((x) => {
    x.nats.users = [{ user: 'a', password: 'b' }];
  });
  const log = recordingLogger();
  await assert.rejects(
    startChildNatsAndConnect(o, '_NSS-test', { log, stanLog: log, monitor: false }),
    /users list: name the user the streaming server connects as with username and password in the streaming \{ \} configuration block/,
  );
  assert.ok(!log.lines.some((l) => /Started nats-server/.test(l)), 'no child was started');
});

test('child log lines are re-logged at their own level', async () => {
  const o = await options((x) => {
    x.nats.debug = true;
  });
  const log = recordingLogger();
  const child = await ChildNatsServer.start(o.nats, { log, monitor: true });
  try {
    assert.ok(log.lines.includes('INF Server is ready'), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => l.startsWith('WRN Cluster name was dynamically generated')), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => l.startsWith('DBG ')), log.lines.join('\n'));
    assert.ok(child.monitorURL?.startsWith('http://127.0.0.1:'));
  } finally {
    await child.close();
  }
});

test('permissions reach the child with their meaning: default_permissions, deny-only lists, allow_responses, no_auth_user', async () => {
  const o = await options((x) => {
    x.nats.users = [
      { user: 'stan', password: 'stanpw', permissions: { publish: { allow: null, deny: [] }, subscribe: { allow: null, deny: [] } } },
      // No permissions of its own: the defaults apply.
      { user: 'plain', password: 'pw' },
      // Deny-only: everything else is allowed.
      { user: 'denyonly', password: 'pw', permissions: { publish: { allow: null, deny: ['secret.>'] } } },
      // May answer requests although it may publish nothing else.
      { user: 'responder', password: 'pw', permissions: { publish: { allow: ['none.>'], deny: [] }, allowResponses: { max: 1, expires: 60_000 } } },
    ];
    x.nats.defaultPermissions = { publish: { allow: null, deny: ['secret.>'] } };
    x.nats.noAuthUser = 'plain';
    x.streaming.natsUser = 'stan';
    x.streaming.natsPassword = 'stanpw';
  });
  const log = recordingLogger();
  const { child, nc } = await startChildNatsAndConnect(o, '_NSS-test', { log, stanLog: log, monitor: false });
  const clients: NatsConnection[] = [];
  try {
    /** Publishes `subject` as `who`; true when the child refused it. */
    const violated = async (c: NatsConnection, subject: string): Promise<boolean> => {
      const errors: string[] = [];
      const watching = (async () => {
        for await (const s of c.status()) if (s.type === 'error') errors.push(String(s.data));
      })();
      c.publish(subject);
      await c.flush();
      await new Promise((r) => setTimeout(r, 300));
      void watching;
      return errors.some((e) => /PERMISSIONS_VIOLATION/i.test(e));
    };
    const as = async (user?: string): Promise<NatsConnection> => {
      const c = await connect(user === undefined ? { servers: child.clientURL } : { servers: child.clientURL, user, pass: 'pw' });
      clients.push(c);
      return c;
    };
    const plain = await as('plain');
    assert.equal(await violated(plain, 'public.x'), false, 'default permissions allow the rest');
    assert.equal(await violated(plain, 'secret.x'), true, 'default permissions deny secret.>');
    const anon = await as(undefined);
    assert.equal(await violated(anon, 'secret.y'), true, 'no_auth_user binds to plain, whose defaults apply');
    const deny = await as('denyonly');
    assert.equal(await violated(deny, 'anything'), false, 'a deny-only list allows everything else');
    assert.equal(await violated(deny, 'secret.z'), true);
    // allow_responses: the responder may answer a request, once.
    const responder = await as('responder');
    const sub = responder.subscribe('svc', { max: 1, callback: (_e, m) => m.respond(new TextEncoder().encode('pong')) });
    await responder.flush();
    const requester = await as('plain');
    const reply = await requester.request('svc', new Uint8Array(), { timeout: 5000 });
    assert.equal(new TextDecoder().decode(reply.data), 'pong');
    void sub;
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await nc.close();
    await child.close();
  }
});
