/**
 * Channel partitioning (spec §7.2) with real components: two of our servers with one
 * cluster ID and disjoint channel lists share a real nats-server; a real STAN client
 * connects once and uses channels of both. A third server whose list overlaps fails to
 * start (real CLI process, config file), as does `partitioning: true` without channels.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { defaultStoreLimits } from '../../src/config/options';
import type { ServerHandle } from '../../src/index';
import {
  CloseRequestCodec,
  ConnectRequestCodec,
  ConnectResponseCodec,
  MsgProtoCodec,
  PubAckCodec,
  PubMsgCodec,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
} from '../../src/protocol/codec';
import { RealNatsServer } from '../helpers/nats-server';
import { spawnServer, type Proc } from '../helpers/proc';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, endSub, publish, subscribe, type Stan } from '../helpers/stan';

const CLUSTER = `part-e2e-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-part-'));
let nats: RealNatsServer;
let a: ServerHandle;
let b: ServerHandle;
const procs: Proc[] = [];

function partitioned(channels: string[]): Promise<ServerHandle> {
  const perChannel: Record<string, object> = {};
  for (const c of channels) perChannel[c] = {};
  return startTestServer({
    streaming: { clusterID: CLUSTER, natsServerURL: nats.url, partitioning: true, storeLimits: { ...defaultStoreLimits(), perChannel } },
  });
}

before(async () => {
  nats = await RealNatsServer.start();
  // 'orders.vip' overlaps 'orders.*' within A's own list: still handled once.
  a = await partitioned(['foo', 'orders.*', 'orders.vip']);
  b = await partitioned(['bar', 'audit.>']);
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await b?.close();
  await a?.close();
  await nats?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function channelsOf(h: ServerHandle): string[] {
  return [...h.server.core.channels.keys()].sort();
}

async function stored(h: ServerHandle, channel: string): Promise<string[]> {
  const ch = h.server.core.channels.get(channel);
  assert.ok(ch, `channel ${channel} exists on this server`);
  const out: string[] = [];
  for (let seq = ch.store.msgs.firstSeq; seq > 0 && seq <= ch.nextSeq; seq++) {
    const m = await ch.store.msgs.lookup(seq);
    if (m) out.push(Buffer.from(MsgProtoCodec.decode(m.bytes).data).toString());
  }
  return out;
}

test('one client publishes and subscribes to channels of both servers; each message is stored by its owner only', async () => {
  const sc = await connect(a.natsURL, CLUSTER, 'part-client', { connectTimeout: 5000 });
  try {
    await publish(sc, 'foo', 'f1');
    await publish(sc, 'orders.1', 'o1');
    await publish(sc, 'bar', 'b1');
    await publish(sc, 'audit.x.y', 'a1');

    assert.deepEqual(channelsOf(a), ['foo', 'orders.1']);
    assert.deepEqual(channelsOf(b), ['audit.x.y', 'bar']);
    assert.deepEqual(await stored(a, 'foo'), ['f1']);
    assert.deepEqual(await stored(b, 'bar'), ['b1']);
    await publish(sc, 'orders.vip', 'v1');
    // Let a duplicate delivery (if any) be processed before looking.
    await publish(sc, 'foo', 'f-barrier');
    assert.deepEqual(await stored(a, 'orders.vip'), ['v1'], 'stored once although two of its entries match');

    // Both servers registered the client (each answered the connect).
    assert.ok(a.server.core.clients.has('part-client'));
    assert.ok(b.server.core.clients.has('part-client'));

    // Subscriptions: each request is answered by the channel's owner.
    const subFoo = await subscribe(sc, 'foo', sc.subscriptionOptions().setDeliverAllAvailable());
    const subBar = await subscribe(sc, 'bar', sc.subscriptionOptions().setDeliverAllAvailable());
    const cf = new Collector(subFoo);
    // (foo holds f1 and f-barrier before the subscription)
    const cb = new Collector(subBar);
    await publish(sc, 'foo', 'f2');
    await publish(sc, 'bar', 'b2');
    assert.deepEqual((await cf.waitFor(3, 10000)).map((m) => String(m.getData())), ['f1', 'f-barrier', 'f2']);
    assert.deepEqual((await cb.waitFor(2, 10000)).map((m) => String(m.getData())), ['b1', 'b2']);
    assert.equal(a.server.core.channels.get('foo')?.plainSubs.size, 1);
    assert.equal(b.server.core.channels.has('foo'), false, 'the subscription did not create the channel on B');

    // Unsubscribe: the owner answers, the other server stays silent (no error reaches the client).
    await endSub(subFoo, 'unsubscribe');
    await endSub(subBar, 'close');
    assert.equal(a.server.core.channels.get('foo')?.plainSubs.size, 0);
    assert.equal(b.server.core.channels.get('bar')?.plainSubs.size, 0);
  } finally {
    await close(sc);
  }
  // The connection close reached both servers.
  assert.equal(a.server.core.clients.has('part-client'), false);
  assert.equal(b.server.core.clients.has('part-client'), false);
});

test('a channel no server handles: subscribe and publish time out on the client, nothing is created', async () => {
  const sc = await connect(a.natsURL, CLUSTER, 'part-nobody', { connectTimeout: 1500, ackTimeout: 1500 });
  try {
    // The client reports a subscribe request timeout as a 'timeout' event.
    const sub = sc.subscribe('nobody.home', sc.subscriptionOptions());
    const outcome = await new Promise<string>((resolve) => {
      sub.once('timeout', (err: unknown) => resolve(`timeout: ${String(err)}`));
      sub.once('error', (err: unknown) => resolve(`error: ${String(err)}`));
      sub.once('ready', () => resolve('ready'));
    });
    assert.match(outcome, /^timeout: .*subscribe request timeout/);
    await assert.rejects(publish(sc, 'nobody', 'x'), /publish ack timeout/);
    // orders.* matches one token only: orders.a.b belongs to nobody.
    await assert.rejects(publish(sc, 'orders.a.b', 'x'), /publish ack timeout/);
  } finally {
    await close(sc);
  }
  for (const h of [a, b]) {
    assert.equal(h.server.core.channels.has('nobody.home'), false);
    assert.equal(h.server.core.channels.has('nobody'), false);
    assert.equal(h.server.core.channels.has('orders.a.b'), false);
  }
});

test('requests of a client that never connected fail after the registration wait', async () => {
  const nc: NatsConnection = await natsConnect({ servers: nats.url });
  try {
    const pub = await nc.request(
      `_STAN.pub.${CLUSTER}.foo`,
      PubMsgCodec.encode({ clientID: 'ghost', guid: 'g1', subject: 'foo', data: Buffer.from('x') }),
      { timeout: 10000 },
    );
    assert.deepEqual({ ...PubAckCodec.decode(pub.data) }, { guid: 'g1', error: 'stan: invalid publish request' });
    const sub = await nc.request(
      `_STAN.sub.${CLUSTER}`,
      SubscriptionRequestCodec.encode({ clientID: 'ghost', subject: 'bar', inbox: '_INBOX.ghost', maxInFlight: 1, ackWaitInSecs: 30 }),
      { timeout: 10000 },
    );
    assert.equal(SubscriptionResponseCodec.decode(sub.data).error, 'stan: invalid subscription request');
  } finally {
    await nc.close();
  }
  assert.equal(a.server.core.clients.has('ghost'), false);
});

test('a publish that arrives before its connect waits for the registration', async () => {
  const nc: NatsConnection = await natsConnect({ servers: nats.url });
  try {
    // Sent in this order on one connection: server A sees the publish first.
    const pub = nc.request(
      `_STAN.pub.${CLUSTER}.foo`,
      PubMsgCodec.encode({ clientID: 'late', guid: 'g2', subject: 'foo', data: Buffer.from('late') }),
      { timeout: 10000 },
    );
    const conn = await nc.request(
      `_STAN.discover.${CLUSTER}`,
      ConnectRequestCodec.encode({ clientID: 'late', heartbeatInbox: '_INBOX.late-hb' }),
      { timeout: 10000 },
    );
    const cr = ConnectResponseCodec.decode(conn.data);
    assert.equal(cr.error, '');
    const ack = PubAckCodec.decode((await pub).data);
    assert.equal(ack.guid, 'g2');
    assert.equal(ack.error, '', 'accepted once the connect registered');
    assert.deepEqual((await stored(a, 'foo')).slice(-1), ['late']);
    await nc.request(cr.closeRequests, CloseRequestCodec.encode({ clientID: 'late' }), { timeout: 10000 });
  } finally {
    await nc.close();
  }
});

function writeConf(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

async function startFails(conf: string, expected: RegExp): Promise<Proc> {
  const proc = spawnServer(['-ns', nats.url, '-cid', CLUSTER, '-m', '0', '-sc', conf]);
  procs.push(proc);
  const exit = await proc.waitExit(20000);
  assert.notEqual(exit.code, 0, proc.output);
  assert.match(proc.output, expected);
  return proc;
}

test('a server whose literal channel is covered by a running server fails to start (CLI)', async () => {
  const conf = writeConf('literal.conf', 'partitioning: true\nstore_limits: {\n  channels: {\n    "zzz": {}\n    "orders.42": {}\n  }\n}\n');
  await startFails(conf, new RegExp(`\\[FTL\\] STREAM: channel "orders\\.42" causes conflict with channels on server "${a.server.serverID}"`));
});

test('a server whose wildcard channel overlaps a running server fails to start (CLI)', async () => {
  const conf = writeConf('wild.conf', 'partitioning: true\nstore_limits: {\n  channels: {\n    "audit.*": {}\n  }\n}\n');
  await startFails(conf, new RegExp(`channel "audit\\.\\*" causes conflict with channels on server "${b.server.serverID}"`));
  // The running servers are not disturbed.
  const sc = await connect(a.natsURL, CLUSTER, 'part-after', { connectTimeout: 5000 });
  try {
    await publish(sc, 'audit.after', 'ok');
    await publish(sc, 'orders.after', 'ok');
  } finally {
    await close(sc);
  }
  assert.ok(b.server.core.channels.has('audit.after'));
  assert.ok(a.server.core.channels.has('orders.after'));
});

test('partitioning: true without channels: stan: no configured channel (CLI)', async () => {
  const conf = writeConf('none.conf', 'partitioning: true\n');
  await startFails(conf, /stan: no configured channel/);
});

test('embedded NATS: servers using another server\'s embedded NATS (-ns) share its cluster ID', async () => {
  const cid = `${CLUSTER}-emb`;
  const limits = (channels: string[]): ReturnType<typeof defaultStoreLimits> => ({
    ...defaultStoreLimits(),
    perChannel: Object.fromEntries(channels.map((c) => [c, {}])),
  });
  // natsServerURL '' = embedded NATS, whatever STAN_TEST_NATS says.
  const c = await startTestServer({ streaming: { clusterID: cid, natsServerURL: '', partitioning: true, storeLimits: limits(['emb.*']) } });
  let d: ServerHandle | undefined;
  try {
    d = await startTestServer({ streaming: { clusterID: cid, natsServerURL: c.natsURL, partitioning: true, storeLimits: limits(['other']) } });
    const sc: Stan = await connect(c.natsURL, cid, 'emb-client', { connectTimeout: 5000 });
    try {
      await publish(sc, 'emb.1', 'e');
      await publish(sc, 'other', 'o');
    } finally {
      await close(sc);
    }
    assert.deepEqual(channelsOf(c), ['emb.1']);
    assert.deepEqual(channelsOf(d), ['other']);
    await assert.rejects(
      startTestServer({ streaming: { clusterID: cid, natsServerURL: c.natsURL, partitioning: true, storeLimits: limits(['emb.x']) } }),
      { message: `channel "emb.x" causes conflict with channels on server "${c.server.serverID}"` },
    );
  } finally {
    await d?.close();
    await c.close();
  }
});
