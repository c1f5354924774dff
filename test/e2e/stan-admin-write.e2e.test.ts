/**
 * Admin API mutating endpoints against a real server (store from STAN_TEST_STORE) with the
 * real Node STAN client: each endpoint refuses missing (401) and wrong (403) tokens in JSON;
 * evict, purge, delete, durable reset and requeue are seen by real clients and by the
 * /streaming monitoring endpoints; with a persistent store (file, postgres, mysql) every
 * change is still there after a restart on the same store (the events are in the log).
 * Named stan-* so that test/run-all.sh runs it on every store and with an external NATS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerHandle } from '../../src/index';
import type { StreamingOptions } from '../../src/config/options';
import { freePort } from '../helpers/proc';
import { startTestServer, storeOptionsFor, testStore } from '../helpers/server';
import { close, Collector, connect, endSub, opts, publish, publishError, publishN, subscribe, waitEvent, type Stan } from '../helpers/stan';
import { describeFetchError, httpGet } from '../helpers/http';

const TOKEN = 'e2e-admin-write-token';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = auth): Promise<Answer> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { ...headers, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  }).catch((err: unknown) => {
    throw new Error(`${method} ${path}: ${describeFetchError(err)}`, { cause: err });
  });
  assert.equal(r.headers.get('content-type'), 'application/json', `${method} ${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function channelz(port: number, name: string): Promise<{ status: number; first_seq?: number; last_seq?: number; msgs?: number }> {
  const r = await httpGet(port, `/streaming/channelsz?channel=${encodeURIComponent(name)}`);
  return r.status === 200 ? { status: 200, ...(r.json() as { first_seq: number; last_seq: number; msgs: number }) } : { status: r.status };
}

const MUTATING: Array<[string, string, unknown]> = [
  ['DELETE', '/admin/v1/clients/someone', undefined],
  ['POST', '/admin/v1/channels/foo/purge', {}],
  ['DELETE', '/admin/v1/channels/foo', undefined],
  ['POST', '/admin/v1/channels/foo/durables/reset', { client_id: 'c', durable: 'd', seq: 1 }],
  ['POST', '/admin/v1/channels/dlq/messages/1/requeue', {}],
];

describe(`admin API mutating endpoints (${testStore()} store)`, () => {
  let s: ServerHandle;
  let port: number;
  let storeOpts: Partial<StreamingOptions>;
  const clusterID = `admin-write-${process.pid}`;
  const clients: Stan[] = [];
  const persistent = testStore() !== 'memory';

  const start = async (): Promise<void> => {
    s = await startTestServer({ streaming: { ...storeOpts, clusterID, adminToken: TOKEN }, nats: { httpPort: port } });
  };
  const client = async (id: string): Promise<Stan> => {
    const c = await connect(s.natsURL, clusterID, id);
    clients.push(c);
    return c;
  };

  before(async () => {
    port = await freePort();
    storeOpts = await storeOptionsFor(testStore());
    await start();
  });
  after(async () => {
    for (const c of clients) await close(c).catch(() => undefined);
    await s?.close();
  });

  for (const [method, path, body] of MUTATING) {
    test(`${method} ${path}: 401 without a token, 403 with a wrong one, JSON`, async () => {
      const none = await call(port, method, path, body, {});
      assert.equal(none.status, 401);
      assert.equal(none.body['code'], 'unauthorized');
      const wrong = await call(port, method, path, body, { authorization: 'Bearer wrong' });
      assert.equal(wrong.status, 403);
      assert.equal(wrong.body['code'], 'forbidden');
    });
  }

  test('openapi.json lists every endpoint; bad parameters are 400 naming them', async () => {
    const doc = (await httpGet(port, '/admin/v1/openapi.json')).json() as { paths: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/channels/{name}',
      '/channels/{name}/durables/reset',
      '/channels/{name}/messages',
      '/channels/{name}/messages/{seq}/requeue',
      '/channels/{name}/purge',
      '/clients',
      '/clients/{id}',
    ]);
    const r = await call(port, 'POST', '/admin/v1/channels/foo/purge', { before_seq: -1 });
    assert.deepEqual([r.status, r.body['code'], r.body['parameter']], [400, 'bad_parameter', 'before_seq']);
    const d = await call(port, 'POST', '/admin/v1/channels/foo/durables/reset', { client_id: 'c', durable: 'd', time: 'soon' });
    assert.deepEqual([d.status, d.body['parameter']], [400, 'time']);
  });

  test('evict: the client is gone from /streaming/clientsz, its durable is offline, its publishes and pings are refused', async () => {
    const victim = await connect(s.natsURL, clusterID, 'victim', { stanPingInterval: 1000, stanMaxPingOut: 3 });
    clients.push(victim);
    const lost = waitEvent(victim, 'connection_lost', 20000);
    await subscribe(victim, 'ev', opts(victim, (o) => o.setDurableName('keep')));
    await subscribe(victim, 'ev', opts(victim));
    const r = await call(port, 'DELETE', '/admin/v1/clients/victim');
    assert.deepEqual([r.status, r.body['ok'], r.body['subscriptions_closed']], [200, true, 2]);
    const z = (await httpGet(port, '/streaming/clientsz')).json() as { clients: Array<{ id: string }> };
    assert.ok(!z.clients.some((c) => c.id === 'victim'));
    const ch = (await httpGet(port, '/streaming/channelsz?channel=ev&subs=1')).json() as { subscriptions: Array<{ durable_name?: string; is_offline: boolean }> };
    assert.deepEqual(ch.subscriptions.map((x) => [x.durable_name, x.is_offline]), [['keep', true]]);
    assert.match(await publishError(victim, 'ev', 'late'), /invalid publish request/);
    // Its next ping is refused: the client learns it lost its connection.
    assert.match(String(await lost), /client has been replaced or is no longer registered/);
    const again = await call(port, 'DELETE', '/admin/v1/clients/victim');
    assert.deepEqual([again.status, again.body['code']], [404, 'client_not_found']);
  });

  test('purge: before_seq, then all; the channel keeps its last sequence; subscribers see the rest', async () => {
    const pub = await client('purge-pub');
    await publishN(pub, 'pg', 10);
    const r = await call(port, 'POST', '/admin/v1/channels/pg/purge', { before_seq: 4 });
    assert.deepEqual([r.status, r.body['removed'], r.body['first_seq'], r.body['last_seq']], [200, 3, 4, 10]);
    const z4 = await channelz(port, 'pg');
    assert.deepEqual([z4.first_seq, z4.last_seq, z4.msgs], [4, 10, 7]);
    const reader = await client('purge-reader');
    const c = new Collector(await subscribe(reader, 'pg', opts(reader, (o) => o.setDeliverAllAvailable())));
    await c.waitFor(7);
    assert.deepEqual(c.seqs(), [4, 5, 6, 7, 8, 9, 10]);
    const all = await call(port, 'POST', '/admin/v1/channels/pg/purge', {});
    assert.deepEqual([all.status, all.body['removed']], [200, 7]);
    const z = await channelz(port, 'pg');
    assert.deepEqual([z.msgs, z.last_seq], [0, 10]);
    await publish(pub, 'pg', 'after');
    await c.waitFor(8);
    assert.equal(c.seqs()[7], 11);
    // before_time in the future: everything stored goes.
    const t = await call(port, 'POST', '/admin/v1/channels/pg/purge', { before_time: new Date(Date.now() + 3_600_000).toISOString() });
    assert.deepEqual([t.status, t.body['removed'], (await channelz(port, 'pg')).msgs], [200, 1, 0]);
    const none = await call(port, 'POST', '/admin/v1/channels/nope/purge', {});
    assert.deepEqual([none.status, none.body['code']], [404, 'channel_not_found']);
  });

  test('delete: 409 while subscribed, then gone from /streaming/channelsz; a publish starts it afresh', async () => {
    const c = await client('del-client');
    await publishN(c, 'gone', 3);
    const sub = await subscribe(c, 'gone', opts(c));
    const busy = await call(port, 'DELETE', '/admin/v1/channels/gone');
    assert.deepEqual([busy.status, busy.body['code']], [409, 'channel_has_subscriptions']);
    await endSub(sub, 'unsubscribe');
    const ok = await call(port, 'DELETE', '/admin/v1/channels/gone');
    assert.deepEqual([ok.status, ok.body['ok']], [200, true]);
    assert.equal((await channelz(port, 'gone')).status, 404);
    await publish(c, 'gone', 'fresh');
    assert.equal((await channelz(port, 'gone')).last_seq, 1);
  });

  test('durable reset: an offline durable resumes from the sequence given; an online one is moved at once', async () => {
    const c = await client('reset-client');
    await publishN(c, 'rs', 5);
    const durable = opts(c, (o) => o.setDurableName('d').setDeliverAllAvailable());
    const sub1 = await subscribe(c, 'rs', durable);
    await new Collector(sub1).waitFor(5);
    await endSub(sub1, 'close');
    const r = await call(port, 'POST', '/admin/v1/channels/rs/durables/reset', { client_id: 'reset-client', durable: 'd', seq: 2 });
    assert.deepEqual([r.status, r.body['next_seq']], [200, 2]);
    const sub2 = await subscribe(c, 'rs', durable);
    const again = new Collector(sub2);
    await again.waitFor(4);
    assert.deepEqual(again.seqs(), [2, 3, 4, 5]);
    // Online: moved back to 4 while subscribed, messages 4 and 5 come again.
    const online = await call(port, 'POST', '/admin/v1/channels/rs/durables/reset', { client_id: 'reset-client', durable: 'd', seq: 4 });
    assert.equal(online.status, 200);
    await again.waitFor(6);
    assert.deepEqual(again.seqs().slice(4), [4, 5]);
    const sz = (await httpGet(port, '/streaming/channelsz?channel=rs&subs=1')).json() as { subscriptions: Array<{ last_sent: number }> };
    assert.equal(sz.subscriptions[0]?.last_sent, 5);
    await endSub(sub2, 'close');
    const missing = await call(port, 'POST', '/admin/v1/channels/rs/durables/reset', { client_id: 'reset-client', durable: 'nope', seq: 1 });
    assert.deepEqual([missing.status, missing.body['code']], [404, 'durable_not_found']);
    // Left at "next is 3" for the restart test below.
    assert.equal((await call(port, 'POST', '/admin/v1/channels/rs/durables/reset', { client_id: 'reset-client', durable: 'd', seq: 3 })).status, 200);
  });

  test('durable reset of an online durable with unacknowledged messages: they leave the pending set for good', async () => {
    const c = await client('pending-client');
    await publishN(c, 'rp', 3);
    const manual = opts(c, (o) => o.setDurableName('p').setDeliverAllAvailable().setManualAckMode(true).setAckWait(60_000));
    const got = new Collector(await subscribe(c, 'rp', manual), false);
    await got.waitFor(3);
    const r = await call(port, 'POST', '/admin/v1/channels/rp/durables/reset', { client_id: 'pending-client', durable: 'p', seq: 4 });
    assert.deepEqual([r.status, r.body['next_seq']], [200, 4]);
    const sz = (await httpGet(port, '/streaming/channelsz?channel=rp&subs=1')).json() as { subscriptions: Array<{ last_sent: number; pending_count: number }> };
    assert.deepEqual([sz.subscriptions[0]?.last_sent, sz.subscriptions[0]?.pending_count], [3, 0]);
    await publish(c, 'rp', 'after the reset');
    await got.waitFor(4);
    assert.deepEqual(got.seqs(), [1, 2, 3, 4]);
    got.msgs[3]?.ack();
    // Left with 1..3 never acknowledged: the restart test below checks none comes back.
  });

  test('requeue: a dead-letter envelope is republished to its channel with a new sequence; anything else is refused', async () => {
    const c = await client('requeue-client');
    await publishN(c, 'work', 2);
    const envelope = {
      channel: 'work',
      seq: 1,
      timestamp: new Date().toISOString(),
      subject: 'work',
      reply: '',
      client_id: 'worker',
      durable: '',
      queue: '',
      deliveries: 5,
      data_base64: Buffer.from('poison').toString('base64'),
    };
    await publish(c, 'dlq.work', JSON.stringify(envelope));
    await publish(c, 'dlq.work', 'not an envelope');
    const reader = new Collector(await subscribe(c, 'work', opts(c, (o) => o.setStartAtSequence(3))));
    const r = await call(port, 'POST', '/admin/v1/channels/dlq.work/messages/1/requeue', {});
    assert.deepEqual([r.status, r.body['channel'], r.body['original_seq'], r.body['seq']], [200, 'work', 1, 3]);
    await reader.waitFor(1);
    assert.deepEqual([reader.seqs(), reader.datas()], [[3], ['poison']]);
    assert.equal((await channelz(port, 'work')).last_seq, 3);
    const bad = await call(port, 'POST', '/admin/v1/channels/dlq.work/messages/2/requeue', {});
    assert.deepEqual([bad.status, bad.body['code']], [409, 'not_dead_letter']);
    const gone = await call(port, 'POST', '/admin/v1/channels/dlq.work/messages/9/requeue', {});
    assert.deepEqual([gone.status, gone.body['code']], [404, 'message_not_found']);
  });

  test('after a restart on the same store, purge, delete and reset are still in effect', { skip: !persistent && 'MEMORY keeps nothing across a restart' }, async () => {
    for (const c of clients.splice(0)) await close(c).catch(() => undefined);
    await s.close();
    await start();
    const pg = await channelz(port, 'pg');
    assert.deepEqual([pg.msgs, pg.last_seq], [0, 11]);
    assert.equal((await channelz(port, 'gone')).last_seq, 1);
    const c = await client('reset-client');
    const resumed = new Collector(await subscribe(c, 'rs', opts(c, (o) => o.setDurableName('d'))));
    await resumed.waitFor(3);
    assert.deepEqual(resumed.seqs(), [3, 4, 5]);
    // The messages pending at the online reset stay dropped: a resumed durable gets its pending
    // messages first, so they would come before the new one.
    const p = await client('pending-client');
    const after = new Collector(await subscribe(p, 'rp', opts(p, (o) => o.setDurableName('p'))));
    await publish(p, 'rp', 'after the restart');
    await after.waitFor(1);
    assert.deepEqual(after.seqs(), [5]);
    await publish(c, 'pg', 'next');
    assert.equal((await channelz(port, 'pg')).last_seq, 12);
  });
});
