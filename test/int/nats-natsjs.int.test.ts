/** The nats.js v2 client (headers, no_responders, protocol 1) against the embedded server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, headers, ErrorCode, StringCodec, type NatsConnection, type NatsError } from 'nats';
import { startServer } from '../helpers/nats-helpers';
import type { EmbeddedNatsServer } from '../../src/nats/embedded';

const sc = StringCodec();

async function withServer(fn: (s: EmbeddedNatsServer, nc: NatsConnection) => Promise<void>): Promise<void> {
  const s = await startServer();
  const nc = await connect({ servers: `127.0.0.1:${s.port}`, name: 'natsjs-test' });
  try {
    await fn(s, nc);
  } finally {
    await nc.close();
    await s.close();
  }
}

test('nats.js: pub/sub and flush', async () => {
  await withServer(async (s, nc) => {
    const got: string[] = [];
    const done = new Promise<void>((resolve) => {
      nc.subscribe('foo', {
        callback: (_e, m) => {
          got.push(sc.decode(m.data));
          if (got.length === 100) resolve();
        },
      });
    });
    for (let i = 0; i < 100; i++) nc.publish('foo', sc.encode(`m${i}`));
    await nc.flush();
    await done;
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `m${i}`));
    assert.equal(nc.info?.server_id, s.serverId);
    assert.ok(s.connections().some((c) => c.name === 'natsjs-test' && c.lang === 'nats.js'));
  });
});

test('nats.js: wildcards', async () => {
  await withServer(async (_s, nc) => {
    const star: string[] = [];
    const gt: string[] = [];
    nc.subscribe('a.*', { callback: (_e, m) => star.push(m.subject) });
    nc.subscribe('a.>', { callback: (_e, m) => gt.push(m.subject) });
    await nc.flush();
    nc.publish('a.b');
    nc.publish('a.b.c');
    nc.publish('b.c');
    await nc.flush();
    await nc.flush();
    assert.deepEqual(star, ['a.b']);
    assert.deepEqual(gt, ['a.b', 'a.b.c']);
  });
});

test('nats.js: queue groups deliver each message once', async () => {
  await withServer(async (s, nc) => {
    const nc2 = await connect({ servers: `127.0.0.1:${s.port}` });
    const counts = [0, 0, 0];
    nc.subscribe('q', { queue: 'g', callback: () => counts[0]++ });
    nc.subscribe('q', { queue: 'g', callback: () => counts[1]++ });
    nc2.subscribe('q', { queue: 'g', callback: () => counts[2]++ });
    await nc.flush();
    await nc2.flush();
    for (let i = 0; i < 300; i++) nc.publish('q');
    await nc.flush();
    await nc2.flush();
    assert.equal(counts[0] + counts[1] + counts[2], 300);
    for (const c of counts) assert.ok(c > 30, counts.join(','));
    await nc2.close();
  });
});

test('nats.js: request/reply across connections', async () => {
  await withServer(async (s, nc) => {
    const responder = await connect({ servers: `127.0.0.1:${s.port}` });
    responder.subscribe('svc.echo', { callback: (_e, m) => m.respond(sc.encode(`re:${sc.decode(m.data)}`)) });
    await responder.flush();
    const r = await nc.request('svc.echo', sc.encode('hi'), { timeout: 1000 });
    assert.equal(sc.decode(r.data), 're:hi');
    // Old-style (non-mux) request too.
    const r2 = await nc.request('svc.echo', sc.encode('x'), { timeout: 1000, noMux: true });
    assert.equal(sc.decode(r2.data), 're:x');
    await responder.close();
  });
});

test('nats.js: headers via HPUB/HMSG', async () => {
  await withServer(async (_s, nc) => {
    const got = new Promise<[string | undefined, string]>((resolve) => {
      nc.subscribe('h', { callback: (_e, m) => resolve([m.headers?.get('X-Test'), sc.decode(m.data)]) });
    });
    await nc.flush();
    const h = headers();
    h.set('X-Test', 'value 1');
    nc.publish('h', sc.encode('body'), { headers: h });
    assert.deepEqual(await got, ['value 1', 'body']);
  });
});

test('nats.js: no responders error', async () => {
  await withServer(async (_s, nc) => {
    const started = Date.now();
    await assert.rejects(nc.request('nobody.home', sc.encode('x'), { timeout: 5000 }), (err: NatsError) => {
      assert.equal(err.code, ErrorCode.NoResponders);
      return true;
    });
    assert.ok(Date.now() - started < 1000, 'no-responders must be immediate');
  });
});

test('nats.js: request timeout when the responder stays silent', async () => {
  await withServer(async (_s, nc) => {
    nc.subscribe('silent', { callback: () => {} });
    await nc.flush();
    await assert.rejects(nc.request('silent', sc.encode('x'), { timeout: 200 }), (err: NatsError) => {
      assert.equal(err.code, ErrorCode.Timeout);
      return true;
    });
  });
});

test('nats.js: large payloads (multi-chunk) arrive intact', async () => {
  await withServer(async (_s, nc) => {
    const big = new Uint8Array(900 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const got = new Promise<Uint8Array>((resolve) => nc.subscribe('big', { callback: (_e, m) => resolve(m.data) }));
    await nc.flush();
    nc.publish('big', big);
    const d = await got;
    assert.equal(d.length, big.length);
    assert.ok(Buffer.from(d).equals(Buffer.from(big)));
  });
});

test('nats.js: unsubscribe with max', async () => {
  await withServer(async (_s, nc) => {
    let n = 0;
    const sub = nc.subscribe('m', { callback: () => n++ });
    sub.unsubscribe(2);
    await nc.flush();
    for (let i = 0; i < 5; i++) nc.publish('m');
    await nc.flush();
    await nc.flush();
    assert.equal(n, 2);
  });
});
