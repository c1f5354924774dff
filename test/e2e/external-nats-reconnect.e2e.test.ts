/**
 * The external NATS server goes away while our server (a real process, -ns) runs, and comes
 * back on the same port: our server reconnects by itself and serves again; a STAN client
 * (reconnecting forever too) keeps publishing and receiving. Under load, every message
 * whose publish was acknowledged reaches a durable subscriber. With a NATS cluster (two
 * routed nats-servers, both URLs given to -ns) our server fails over to the other server.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { RealNatsServer } from '../helpers/nats-server';
import { freePort, Proc, READY_RE, spawnServer, sleep } from '../helpers/proc';
import * as stanLib from 'node-nats-streaming';
import { close, Collector, connect, publish, subscribe, until, type Stan } from '../helpers/stan';
import { connectPersistent, publishAsync, type AsyncPublishResult } from '../helpers/durability';

let nats: RealNatsServer | undefined;
const natsServers: RealNatsServer[] = [];
const procs: Proc[] = [];
const clients: Stan[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(procs.map((p) => p.kill()));
  await nats?.stop();
  await Promise.all(natsServers.map((n) => n.stop()));
});

/** Retries `fn` until it succeeds or the deadline passes (the client may still be reconnecting). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

test('NATS server stopped and restarted on the same port: our server reconnects and serves again', async () => {
  nats = await RealNatsServer.start();
  const proc = spawnServer(['-cid', 'reco', '-ns', nats.url]);
  procs.push(proc);
  await proc.waitForLine(READY_RE);

  // The STAN client reconnects forever too (node-nats-streaming's NATS options).
  const sc = await connectPersistent(nats.url, 'reco', 'reco-client', { connectTimeout: 3000 });
  clients.push(sc);
  const sub = await subscribe(sc, 'reco.ch', sc.subscriptionOptions().setDeliverAllAvailable().setDurableName('d'));
  const col = new Collector(sub);
  await publish(sc, 'reco.ch', 'before');
  await col.waitFor(1);

  await nats.stop();
  await proc.waitForLine(/\[WRN\] STREAM: nats: disconnected/, { timeoutMs: 5000 });
  await sleep(500); // a few failed reconnect attempts
  assert.equal(proc.exit, undefined, `our server must keep running without NATS\n${proc.output}`);

  const t0 = performance.now();
  await nats.restart();
  await proc.waitForLine(/\[INF\] STREAM: nats: reconnected/, { timeoutMs: 5000 });
  console.log(`# our server reconnected ${(performance.now() - t0).toFixed(0)} ms after the NATS server restart`);

  // The same STAN connection works again once its NATS connection is back (server state
  // was kept in memory), and the subscription keeps receiving.
  await eventually(() => publish(sc, 'reco.ch', 'after'), 8000);
  await col.waitFor(2, 5000);
  assert.deepEqual(col.datas().slice(0, 2), ['before', 'after']);

  // A fresh STAN connection works too and sees the whole channel.
  const sc2 = await connect(nats.url, 'reco', 'reco-client-2');
  clients.push(sc2);
  const col2 = new Collector(await subscribe(sc2, 'reco.ch', sc2.subscriptionOptions().setDeliverAllAvailable()));
  await col2.waitFor(2);
  assert.deepEqual(col2.datas().slice(0, 2), ['before', 'after']);
  await close(sc2);
  await close(sc);
  assert.equal((await proc.stop('SIGINT')).code, 0);
});

/**
 * A STAN publisher sending continuously (200 msgs/s, 20 PubAcks outstanding at most) and a
 * durable subscriber with a short ack wait (messages lost in an outage come back soon).
 */
async function startLoad(url: string | string[], clusterID: string, channel: string): Promise<{
  received: Set<string>;
  ackedSince: (mark: number) => number;
  ackedTotal: () => number;
  stop: () => Promise<AsyncPublishResult>;
}> {
  const urls = Array.isArray(url) ? url : [url];
  const extra: Partial<stanLib.StanOptions> = { servers: urls, ackTimeout: 5000 };
  const subc = await connectPersistent(urls[0], clusterID, `${clusterID}-sub`, extra);
  const pubc = await connectPersistent(urls[0], clusterID, `${clusterID}-pub`, extra);
  clients.push(subc, pubc);
  const sub = await subscribe(subc, channel, subc.subscriptionOptions().setDeliverAllAvailable().setDurableName('dur').setAckWait(2000).setMaxInFlight(1000));
  // The Collector acks (and keeps messages that arrived with the subscription response).
  const col = new Collector(sub);
  const seen = new Set<string>(col.datas());
  sub.on('message', (m: stanLib.Message) => seen.add(String(m.getData())));
  let stopped = false;
  let acked = 0;
  const load = publishAsync(pubc, channel, Number.MAX_SAFE_INTEGER, {
    window: 20,
    ratePerSec: 200,
    prefix: `${clusterID}-`,
    stop: () => stopped,
    onAck: () => {
      acked++;
    },
  });
  return {
    received: seen,
    ackedSince: (mark) => acked - mark,
    ackedTotal: () => acked,
    stop: async () => {
      stopped = true;
      return load;
    },
  };
}

/** Every acknowledged payload eventually reaches the durable subscriber (redeliveries allowed). */
async function assertAckedDelivered(res: AsyncPublishResult, received: Set<string>): Promise<void> {
  const missing = (): string[] => [...res.acked].filter((p) => !received.has(p));
  await until(() => missing().length === 0, 60000, 'every acknowledged message delivered').catch((err: Error) => {
    throw new Error(`${err.message}: ${missing().length} of ${res.acked.size} missing, e.g. ${missing().slice(0, 5).join(', ')}`);
  });
  assert.ok(res.acked.size > 0);
  console.log(`# ${res.sent} published, ${res.acked.size} acknowledged (all delivered), ${res.failed.size} failed during the outage(s)`);
}

test('NATS server stopped under load and restarted on the same port: publishing resumes, every acknowledged message is delivered', async () => {
  const ns = await RealNatsServer.start();
  natsServers.push(ns);
  const proc = spawnServer(['-cid', 'load', '-ns', ns.url]);
  procs.push(proc);
  await proc.waitForLine(READY_RE, { timeoutMs: 20000 });

  const load = await startLoad(ns.url, 'load', 'load.ch');
  await until(() => load.received.size >= 100, 30000, 'first deliveries');

  await ns.stop();
  await proc.waitForLine(/\[WRN\] STREAM: nats: disconnected: connection "_NSS-load-general" lost NATS Server/, { timeoutMs: 10000 });
  await sleep(1000); // publishes fail or wait meanwhile
  assert.equal(proc.exit, undefined, `our server must keep running without NATS\n${proc.output}`);
  await ns.restart();
  await proc.waitForLine(/\[INF\] STREAM: nats: reconnected: connection "_NSS-load-general" is connected to NATS Server/, { timeoutMs: 15000 });
  const mark = load.ackedTotal();
  await until(() => load.ackedSince(mark) >= 200, 60000, 'publishing to resume after the restart');

  const res = await load.stop();
  await assertAckedDelivered(res, load.received);
  assert.equal((await proc.stop('SIGINT')).code, 0, proc.output);
});

test('NATS cluster (two routed nats-servers): our server fails over to the other server under load, and back after a restart', async () => {
  const [routeA, routeB] = [await freePort(), await freePort()];
  const clusterConf = (own: number, other: number): string =>
    `cluster { name: stan-test, listen: "127.0.0.1:${own}", routes: ["nats-route://127.0.0.1:${other}"] }\n`;
  const a = await RealNatsServer.start({ config: clusterConf(routeA, routeB) });
  natsServers.push(a);
  const b = await RealNatsServer.start({ config: clusterConf(routeB, routeA) });
  natsServers.push(b);
  const routed = (n: RealNatsServer): Promise<string> => (n.proc as Proc).waitForLine(/Route connection created/, { timeoutMs: 15000 });
  await Promise.all([routed(a), routed(b)]);

  const proc = spawnServer(['-cid', 'clu', '-ns', `${a.url},${b.url}`]);
  procs.push(proc);
  await proc.waitForLine(READY_RE, { timeoutMs: 20000 });
  const line = await proc.waitForLine(/nats: connection "_NSS-clu-general" connected to NATS Server 127\.0\.0\.1:\d+/);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
  const [first, second] = port === a.port ? [a, b] : [b, a];
  assert.equal(first.port, port);

  const load = await startLoad([a.url, b.url], 'clu', 'clu.ch');
  await until(() => load.received.size >= 100, 30000, 'first deliveries');

  // The NATS server our server uses goes away: it moves to the other one and keeps serving.
  await first.stop();
  await proc.waitForLine(new RegExp(`nats: reconnected: connection "_NSS-clu-general" is connected to NATS Server 127\\.0\\.0\\.1:${second.port}`), { timeoutMs: 15000 });
  let mark = load.ackedTotal();
  await until(() => load.ackedSince(mark) >= 200, 60000, 'publishing through the second NATS server');

  // The first comes back and joins the cluster; then the second goes away: back to the first.
  await first.restart();
  await routed(first);
  await second.stop();
  await proc.waitForLine(new RegExp(`nats: reconnected: connection "_NSS-clu-general" is connected to NATS Server 127\\.0\\.0\\.1:${first.port}`), { timeoutMs: 15000 });
  mark = load.ackedTotal();
  await until(() => load.ackedSince(mark) >= 200, 60000, 'publishing through the first NATS server again');

  const res = await load.stop();
  await assertAckedDelivered(res, load.received);
  assert.equal(proc.exit, undefined, proc.output);
  assert.equal((await proc.stop('SIGINT')).code, 0, proc.output);
});

test('after a restart the NATS server refuses our credentials for a while: our server keeps trying, logs it once, and serves again once accepted', async () => {
  const accepted = 'authorization { users: [ {user: stan, password: good}, {user: app, password: apppw} ] }\n';
  const ns = await RealNatsServer.start({ config: accepted });
  natsServers.push(ns);
  const proc = spawnServer(['-cid', 'rot', '-ns', `nats://stan:good@127.0.0.1:${ns.port}`]);
  procs.push(proc);
  await proc.waitForLine(READY_RE, { timeoutMs: 20000 });

  ns.writeConfig(accepted.replace('password: good', 'password: rotated'));
  await ns.restart();
  await proc.waitForLine(/\[ERR\] STREAM: nats: asynchronous error on connection "_NSS-rot-general": AUTHORIZATION_VIOLATION/, { timeoutMs: 15000 });
  await sleep(2000); // several refused attempts (one every 250 ms)
  assert.equal(proc.exit, undefined, proc.output);
  assert.equal(proc.stderrLines.filter((l) => /AUTHORIZATION_VIOLATION/.test(l)).length, 1, `the refusal is logged once\n${proc.output}`);

  ns.writeConfig(accepted);
  await ns.restart();
  await proc.waitForLine(/\[INF\] STREAM: nats: reconnected: connection "_NSS-rot-general"/, { timeoutMs: 15000 });
  const sc = await connect(`nats://app:apppw@127.0.0.1:${ns.port}`, 'rot', 'rot-client', { connectTimeout: 10000 });
  clients.push(sc);
  const col = new Collector(await subscribe(sc, 'rot.ch', sc.subscriptionOptions().setDeliverAllAvailable()));
  await publish(sc, 'rot.ch', 'after rotation');
  await col.waitFor(1, 10000);
  await close(sc);
  assert.equal(proc.stderrLines.filter((l) => /nats: reconnected/.test(l)).length, 1, `one reconnect line\n${proc.output}`);
  assert.equal(proc.stderrLines.filter((l) => /nats: disconnected/.test(l)).length, 1, `one disconnect line\n${proc.output}`);
  assert.equal((await proc.stop('SIGINT')).code, 0, proc.output);
});
