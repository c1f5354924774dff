/**
 * The external NATS server goes away while our server (a real process, -ns) runs, and comes
 * back on the same port: our server reconnects by itself and serves again; a STAN client
 * (reconnecting forever too) keeps publishing and receiving.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { RealNatsServer } from '../helpers/nats-server';
import { Proc, READY_RE, spawnServer, sleep } from '../helpers/proc';
import * as stanLib from 'node-nats-streaming';
import { close, Collector, connect, publish, subscribe, type Stan } from '../helpers/stan';

function connectForever(url: string, clusterID: string, clientID: string): Promise<Stan> {
  return new Promise((resolve, reject) => {
    const sc = stanLib.connect(clusterID, clientID, { url, connectTimeout: 3000, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    sc.once('error', reject);
    sc.once('connect', () => {
      sc.removeListener('error', reject);
      sc.on('error', () => undefined);
      resolve(sc);
    });
  });
}

let nats: RealNatsServer | undefined;
const procs: Proc[] = [];
const clients: Stan[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(procs.map((p) => p.kill()));
  await nats?.stop();
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
  const sc = await connectForever(nats.url, 'reco', 'reco-client');
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
