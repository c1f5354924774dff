/**
 * Admin API read-only endpoints against a real server with the real Node STAN client: the
 * clients list as /streaming/clientsz sees it, and the message browser (paging, encodings,
 * binary payloads, unknown channel), each with and without a token; a server without a
 * token answers admin_disabled (the mutating endpoints: stan-admin-write.e2e.test.ts); the token can come from a file; a client certificate
 * verified on the HTTPS monitor is a credential. Named stan-* so that test/run-all.sh runs it
 * on every store (the message browser reads through the store) and with an external
 * nats-server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerHandle } from '../../src/index';
import { freePort } from '../helpers/proc';
import { startTestServer } from '../helpers/server';
import { close, connect, publish, subscribe, type Stan } from '../helpers/stan';
import { httpGet, httpsGet } from '../helpers/http';
import { generateTestCerts } from '../helpers/certs';

const TOKEN = 'e2e-admin-token';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('admin API (read-only) with a real server and client', () => {
  let s: ServerHandle;
  let port: number;
  const clients: Stan[] = [];
  const N = 25;

  before(async () => {
    port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-admin-'));
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${TOKEN}\n`);
    s = await startTestServer({ streaming: { adminTokenFile: tokenFile }, nats: { httpPort: port } });
    const pub = await connect(s.natsURL, s.clusterID, 'admin-pub');
    const sub = await connect(s.natsURL, s.clusterID, 'admin-sub');
    clients.push(pub, sub);
    for (let i = 1; i <= N; i++) await publish(pub, 'orders', JSON.stringify({ n: i }));
    await publish(pub, 'bin', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]));
    await subscribe(sub, 'orders', sub.subscriptionOptions().setDurableName('audit').setDeliverAllAvailable());
  });
  after(async () => {
    for (const c of clients) await close(c).catch(() => undefined);
    await s?.close();
  });

  for (const p of ['/admin/v1/clients', '/admin/v1/channels/orders/messages']) {
    test(`${p}: 401 without a token, 403 with a wrong one, both JSON`, async () => {
      const none = await httpGet(port, p);
      assert.equal(none.status, 401);
      assert.match(none.header('www-authenticate') ?? '', /^Bearer/);
      assert.equal(none.json().code, 'unauthorized');
      const wrong = await httpGet(port, p, { authorization: 'Bearer not-it' });
      assert.equal(wrong.status, 403);
      assert.equal(wrong.contentType, 'application/json');
      assert.equal(wrong.json().code, 'forbidden');
    });
  }

  test('GET /clients: the clients and subscriptions of /streaming/clientsz', async () => {
    const r = await httpGet(port, '/admin/v1/clients', auth);
    assert.equal(r.status, 200);
    const body = r.json();
    assert.equal(body.total, 2);
    assert.deepEqual(body.clients.map((c: { id: string }) => c.id), ['admin-pub', 'admin-sub']);
    const sub = body.clients[1];
    assert.equal(sub.subs_count, 1);
    assert.equal(sub.subscriptions.orders[0].durable_name, 'audit');
    const z = (await httpGet(port, '/streaming/clientsz?subs=1')).json();
    assert.deepEqual(z.clients[1].subscriptions.orders[0].inbox, sub.subscriptions.orders[0].inbox);
    const paged = (await httpGet(port, '/admin/v1/clients?offset=1&limit=1', auth)).json();
    assert.deepEqual([paged.count, paged.total, paged.clients[0].id], [1, 2, 'admin-sub']);
  });

  test('GET messages: default page, from_seq/limit paging, utf8 payloads', async () => {
    const all = (await httpGet(port, '/admin/v1/channels/orders/messages', auth)).json();
    assert.deepEqual([all.first_seq, all.last_seq, all.count, all.next_seq], [1, N, N, 0]);
    assert.equal(Buffer.from(all.messages[0].data, 'base64').toString(), '{"n":1}');
    assert.equal(all.messages[0].encoding, 'base64');
    assert.equal(all.messages[0].subject, 'orders');
    const page = (await httpGet(port, '/admin/v1/channels/orders/messages?from_seq=10&limit=5&encoding=utf8', auth)).json();
    assert.deepEqual(page.messages.map((m: { seq: number }) => m.seq), [10, 11, 12, 13, 14]);
    assert.equal(page.next_seq, 15);
    assert.equal(page.messages[0].data, '{"n":10}');
    assert.match(page.messages[0].timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  test('GET messages: a binary payload comes back as base64 even with encoding=utf8', async () => {
    const r = (await httpGet(port, '/admin/v1/channels/bin/messages?encoding=utf8', auth)).json();
    assert.equal(r.messages[0].encoding, 'base64');
    assert.deepEqual([...Buffer.from(r.messages[0].data, 'base64')], [0xde, 0xad, 0xbe, 0xef, 0xff]);
  });

  test('GET messages: bad parameters and unknown channels are JSON errors', async () => {
    const big = await httpGet(port, '/admin/v1/channels/orders/messages?limit=1001', auth);
    assert.equal(big.status, 400);
    assert.equal(big.json().parameter, 'limit');
    const none = await httpGet(port, '/admin/v1/channels/nope/messages', auth);
    assert.equal(none.status, 404);
    assert.equal(none.json().code, 'channel_not_found');
  });
});

describe('admin API without a configured token', () => {
  test('403 admin_disabled, with or without a token', async () => {
    const port = await freePort();
    const s = await startTestServer({ nats: { httpPort: port } });
    try {
      for (const h of [{}, auth]) {
        const r = await httpGet(port, '/admin/v1/clients', h);
        assert.equal(r.status, 403);
        assert.equal(r.json().code, 'admin_disabled');
      }
    } finally {
      await s.close();
    }
  });
});

describe('admin API with a TLS client certificate on -ms', () => {
  test('a certificate signed by the configured CA gets in; none or another CA: 401', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-admin-tls-'));
    const certs = await generateTestCerts(path.join(dir, 'pki'));
    const httpsPort = await freePort();
    const s = await startTestServer({
      nats: { tls: true, tlsCert: certs.certFile, tlsKey: certs.keyFile, tlsVerify: true, tlsCaCert: certs.caFile, httpsPort },
    });
    const ca = fs.readFileSync(certs.caFile);
    const good = { cert: fs.readFileSync(certs.clientCertFile), key: fs.readFileSync(certs.clientKeyFile) };
    const other = { cert: fs.readFileSync(certs.wrongClientCertFile), key: fs.readFileSync(certs.wrongClientKeyFile) };
    try {
      const ok = await httpsGet(httpsPort, '/admin/v1/clients', ca, 'localhost', good);
      assert.equal(ok.status, 200, ok.body);
      assert.equal(ok.json().total, 0);
      for (const client of [{}, other]) {
        const r = await httpsGet(httpsPort, '/admin/v1/clients', ca, 'localhost', client);
        assert.equal(r.status, 401);
        assert.equal(r.json().code, 'unauthorized');
      }
      // The monitoring pages stay readable without a certificate.
      assert.equal((await httpsGet(httpsPort, '/streaming/serverz', ca)).status, 200);
    } finally {
      await s.close();
    }
  });
});
