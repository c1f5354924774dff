/**
 * Catch-up on cold messages (issue 12), on FILE, PostgreSQL and MariaDB: after a restart
 * every stored message is cold (read from the database a page at a time, ahead of the
 * subscriber). A new subscriber with deliver-all and a large MaxInflight gets every message
 * still stored exactly once, in order, with its payload, across page boundaries and after
 * limits dropped the oldest ones.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerHandle, type EmbeddedServerConfig } from '../../src/index';
import { defaultStoreLimits } from '../../src/config/options';
import { storeOptionsFor, type TestStore } from '../helpers/server';
import { freePort } from '../helpers/proc';
import { close, Collector, connect, flushNats, opts, publish, subscribe, type Message, type Stan } from '../helpers/stan';

const STORES: TestStore[] = ['file', 'postgres', 'mysql'];
/** More than one read page (2,048 rows) and more than the recent-message cache (4,096). */
const PUBLISHED = 7_000;
const KEPT = 6_000;

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const f of open.reverse()) await f().catch(() => undefined);
});

/** Publishes m1..mPUBLISHED, in windows of 500 PubAcks (not refused for too many in flight). */
async function publishAll(s: ServerHandle, clusterID: string, clientID: string, subject: string): Promise<void> {
  const pub = await connect(s.natsURL, clusterID, clientID);
  for (let i = 1; i <= PUBLISHED; i += 500) {
    const batch: Array<Promise<string>> = [];
    for (let j = i; j < i + 500 && j <= PUBLISHED; j++) batch.push(publish(pub, subject, `m${j}`));
    await Promise.all(batch);
  }
  await close(pub);
}

for (const store of STORES) {
  describe(`catch-up on cold messages (${store})`, () => {
    test('a new deliver-all subscriber gets every stored message once, in order, after a restart', async () => {
      const port = await freePort();
      const clusterID = `cu-${store}-${process.pid}`;
      const cfg: EmbeddedServerConfig = {
        streaming: { ...(await storeOptionsFor(store)), clusterID, storeLimits: { ...defaultStoreLimits(), maxMsgs: KEPT } },
        nats: { port },
      };
      let s: ServerHandle = await startServer(cfg);
      open.push(() => s.close());
      await publishAll(s, clusterID, 'cu-pub', 'cu.ch');
      await s.close();

      s = await startServer(cfg);
      const sc: Stan = await connect(s.natsURL, clusterID, 'cu-sub');
      open.push(() => close(sc));
      const sub = await subscribe(sc, 'cu.ch', opts(sc, (o) => o.setDeliverAllAvailable().setMaxInFlight(10_000).setManualAckMode(true)));
      const col = new Collector(sub, true);
      await col.waitFor(KEPT, 60_000);
      const first = PUBLISHED - KEPT + 1;
      assert.deepEqual(
        col.seqs(),
        Array.from({ length: KEPT }, (_, i) => first + i),
      );
      assert.deepEqual(
        col.datas(),
        Array.from({ length: KEPT }, (_, i) => `m${first + i}`),
      );
      assert.ok(col.msgs.every((m) => !m.isRedelivered()));
    });

    test('a durable catching up records its acks exactly: after a restart only the unacked ones come back', async () => {
      // Thousands of deliveries and acks per group commit, recorded compactly (progress.ts):
      // the log must still name exactly the sequences left unacknowledged, and the position.
      const port = await freePort();
      const clusterID = `cud-${store}-${process.pid}`;
      const cfg: EmbeddedServerConfig = { streaming: { ...(await storeOptionsFor(store)), clusterID }, nats: { port } };
      let s: ServerHandle = await startServer(cfg);
      open.push(() => s.close());
      await publishAll(s, clusterID, 'cud-pub', 'cud.ch');
      await s.close();

      s = await startServer(cfg);
      const durable = (sc: Stan): ReturnType<typeof opts> =>
        opts(sc, (o) => o.setDeliverAllAvailable().setMaxInFlight(10_000).setManualAckMode(true).setAckWait(60_000).setDurableName('dur'));
      const unacked = (seq: number): boolean => seq % 97 === 0 || seq === PUBLISHED;
      let sc: Stan = await connect(s.natsURL, clusterID, 'cud-sub');
      let sub = await subscribe(sc, 'cud.ch', durable(sc));
      const first = new Collector(sub, false);
      first.msgs.forEach((m) => unacked(m.getSequence()) || m.ack());
      sub.on('message', (m: Message) => unacked(m.getSequence()) || m.ack());
      await first.waitFor(PUBLISHED, 60_000);
      assert.deepEqual(first.seqs(), Array.from({ length: PUBLISHED }, (_, i) => i + 1));
      await flushNats(sc);
      await close(sc);
      await s.close();

      s = await startServer(cfg);
      sc = await connect(s.natsURL, clusterID, 'cud-sub');
      open.push(() => close(sc));
      sub = await subscribe(sc, 'cud.ch', durable(sc));
      const again = new Collector(sub, true);
      const p2 = await connect(s.natsURL, clusterID, 'cud-pub2');
      open.push(() => close(p2));
      await publish(p2, 'cud.ch', 'after');
      const expected = Array.from({ length: PUBLISHED }, (_, i) => i + 1).filter(unacked);
      await again.waitFor(expected.length + 1, 30_000);
      // Pending ones are redelivered first (durable resume), then new messages flow.
      assert.deepEqual(again.seqs(), [...expected, PUBLISHED + 1]);
      assert.ok(again.msgs.slice(0, expected.length).every((m) => m.isRedelivered()));
      assert.equal(String(again.msgs[expected.length].getData()), 'after');
    });
  });
}
