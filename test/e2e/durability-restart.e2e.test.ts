/**
 * Restart recovery (issue 3 item 7), on FILE, PostgreSQL and MariaDB: a server closed and
 * started again on the same store (same cluster ID, same NATS port) has its channels,
 * messages, clients, durable subscriptions with their positions, pending messages
 * (redelivered with the redelivered flag, expirations from the message timestamps, spec
 * §3.5) and durable queue group shadows back; subscriptions of clients that did not come
 * back are cleaned up; limits truncation keeps first/last right.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerHandle, type EmbeddedServerConfig } from '../../src/index';
import { defaultStoreLimits } from '../../src/config/options';
import { storeOptionsFor, type TestStore } from '../helpers/server';
import { freePort } from '../helpers/proc';
import { rawNats, rawStanConnect } from '../helpers/raw';
import {
  close,
  Collector,
  connect,
  endSub,
  flushNats,
  killNats,
  opts,
  publish,
  publishN,
  sleep,
  subscribe,
  until,
  type Stan,
  flags,
} from '../helpers/stan';
import { connectPersistent, nextReconnect, rawPing, readAll } from '../helpers/durability';

const STORES: TestStore[] = ['file', 'postgres', 'mysql'];

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const f of open.reverse()) await f().catch(() => undefined);
});

for (const store of STORES) {
  describe(`restart recovery (${store})`, () => {
    test('channels, messages, clients, durables, pending, shadows and clean-up survive a restart', async () => {
      const port = await freePort();
      const clusterID = `dr-${store}-${process.pid}`;
      const cfg: EmbeddedServerConfig = {
        streaming: {
          ...(await storeOptionsFor(store)),
          clusterID,
          // A client that does not answer is dropped within about a second after the restart.
          clientHBInterval: 300,
          clientHBTimeout: 250,
          clientHBFailCount: 2,
        },
        nats: { port },
      };
      let s: ServerHandle = await startServer(cfg);
      open.push(() => s.close());
      const url = s.natsURL;
      const clients: Stan[] = [];
      open.push(async () => {
        for (const c of clients) await close(c).catch(() => undefined);
      });

      // ---------------------------------------------------------------- before the restart
      const keeper = await connectPersistent(url, clusterID, 'keeper');
      clients.push(keeper);
      const pub = await connectPersistent(url, clusterID, 'pub');
      clients.push(pub);
      const raw = await rawNats(url);
      const rc = await rawStanConnect(raw, clusterID, 'raw-client');
      assert.equal(await rawPing(url, clusterID, rc.connID), '');

      await publishN(pub, 'r.a', 10);
      await publishN(pub, 'r.b', 5, 'b');

      // A durable of a client that stays connected across the restart: 1..4 acked, 5..6 not.
      const durOpts = opts(keeper, (o) => o.setDurableName('dk').setDeliverAllAvailable().setManualAckMode(true).setAckWait(1000));
      const kSub = await subscribe(keeper, 'r.dur', durOpts);
      const kCol = new Collector(kSub, false);
      await publishN(pub, 'r.dur', 6, 'd');
      await kCol.waitFor(6);
      for (const m of kCol.msgs.slice(0, 4)) m.ack();
      await flushNats(keeper);

      // A durable whose client closes cleanly: acked up to 3, then offline.
      const dc = await connect(url, clusterID, 'dclient');
      const dSub = await subscribe(dc, 'r.d2', opts(dc, (o) => o.setDurableName('dd').setDeliverAllAvailable().setManualAckMode(true)));
      const dCol = new Collector(dSub, true);
      await publishN(pub, 'r.d2', 3, 'x');
      await dCol.waitFor(3);
      await flushNats(dc);
      await close(dc);
      await publishN(pub, 'r.d2', 2, 'late');

      // A durable queue group whose only member closes: it survives as a shadow.
      const qc = await connect(url, clusterID, 'qclient');
      const qSub = await subscribe(qc, 'r.q', opts(qc, (o) => o.setDurableName('qd').setDeliverAllAvailable().setManualAckMode(true)), 'qg');
      const qCol = new Collector(qSub, true);
      await publishN(pub, 'r.q', 3, 'q');
      await qCol.waitFor(3);
      await flushNats(qc);
      await endSub(qSub, 'close');
      await close(qc);
      await publishN(pub, 'r.q', 2, 'qlate');

      // A client that goes away without closing: a plain subscription and a durable.
      const ghost = await connect(url, clusterID, 'ghost');
      await subscribe(ghost, 'r.a', opts(ghost, (o) => o.setStartWithLastReceived()));
      const gSub = await subscribe(ghost, 'r.ghost', opts(ghost, (o) => o.setDurableName('gd').setDeliverAllAvailable()));
      const gCol = new Collector(gSub, true);
      await publishN(pub, 'r.ghost', 2, 'g');
      await gCol.waitFor(2);
      await flushNats(ghost);
      await sleep(50);
      killNats(ghost);

      const before = s.server.core;
      const snapshot = (name: string): [number, number, number] => {
        const m = s.server.core.channels.get(name)?.store.msgs;
        return m ? [m.firstSeq, m.lastSeq, m.msgCount] : [-1, -1, -1];
      };
      const expected: Record<string, [number, number, number]> = {
        'r.a': [1, 10, 10],
        'r.b': [1, 5, 5],
        'r.dur': [1, 6, 6],
        'r.d2': [1, 5, 5],
        'r.q': [1, 5, 5],
        'r.ghost': [1, 2, 2],
      };
      for (const [name, v] of Object.entries(expected)) assert.deepEqual(snapshot(name), v, `before: ${name}`);
      assert.ok(before.clients.has('ghost'));

      // ---------------------------------------------------------------- restart
      const redeliveredBefore = kCol.msgs.length;
      const reconnected1 = Promise.all([nextReconnect(keeper), nextReconnect(pub)]);
      await s.close();
      s = await startServer(cfg);
      const core = s.server.core;

      // Channels and messages.
      assert.deepEqual([...core.channels.keys()].sort(), Object.keys(expected).sort());
      for (const [name, v] of Object.entries(expected)) assert.deepEqual(snapshot(name), v, `after: ${name}`);
      // Clients: all of them are recovered, the dead one too (its heartbeats decide).
      for (const id of ['keeper', 'pub', 'raw-client', 'ghost']) assert.ok(core.clients.has(id), `client ${id} recovered`);
      assert.ok(!core.clients.has('dclient') && !core.clients.has('qclient'), 'closed clients stay closed');
      // The ghost's plain subscription exists until its client is found dead.
      const ghostPlain = (): number => [...(core.channels.get('r.a')?.plainSubs ?? [])].filter((x) => x.state.clientID === 'ghost').length;
      assert.equal(ghostPlain(), 1);

      // A ping by connection ID is answered without error (and an unknown one with an error).
      assert.equal(await rawPing(url, clusterID, rc.connID), '');
      assert.notEqual(await rawPing(url, clusterID, new TextEncoder().encode('nobody')), '');
      await raw.close();

      // The clients that stayed connected reconnect and go on.
      await reconnected1;
      await publish(keeper, 'r.b', 'b6');
      await publish(pub, 'r.dur', 'd7');
      await publish(pub, 'r.dur', 'd8');

      // The connected durable: 5 and 6 redelivered (flagged), 1..4 never again, then 7, 8.
      await until(() => {
        const post = kCol.msgs.slice(redeliveredBefore);
        return post.some((m) => m.getSequence() === 5) && post.some((m) => m.getSequence() === 6) && post.some((m) => m.getSequence() === 8);
      }, 10000, 'durable redelivery after restart');
      for (const m of kCol.msgs.slice(4)) m.ack();
      await flushNats(keeper);
      const post = kCol.msgs.slice(redeliveredBefore);
      assert.deepEqual(
        post.filter((m) => m.getSequence() <= 4).map((m) => m.getSequence()),
        [],
        'acked messages are not redelivered',
      );
      for (const m of post) {
        if (m.getSequence() <= 6) assert.equal(m.isRedelivered(), true, `seq ${m.getSequence()} redelivered`);
        else assert.equal(m.isRedelivered(), false, `seq ${m.getSequence()} new`);
      }
      assert.deepEqual(
        post.filter((m) => m.getSequence() > 6).map((m) => String(m.getData())),
        ['d7', 'd8'],
      );

      // The closed durable resumes from its acked position with a new connection.
      const dc2 = await connect(url, clusterID, 'dclient');
      clients.push(dc2);
      const dSub2 = await subscribe(dc2, 'r.d2', opts(dc2, (o) => o.setDurableName('dd').setDeliverAllAvailable()));
      const dCol2 = new Collector(dSub2, true);
      await dCol2.waitFor(2);
      await sleep(150);
      assert.deepEqual(flags(dCol2.msgs), [
        [4, false],
        [5, false],
      ]);
      assert.deepEqual(dCol2.datas(), ['late1', 'late2']);

      // The durable queue group's shadow: a new member continues after 3.
      const qc2 = await connect(url, clusterID, 'qclient2');
      clients.push(qc2);
      const qSub2 = await subscribe(qc2, 'r.q', opts(qc2, (o) => o.setDurableName('qd').setDeliverAllAvailable()), 'qg');
      const qCol2 = new Collector(qSub2, true);
      await qCol2.waitFor(2);
      await sleep(150);
      assert.deepEqual(qCol2.datas(), ['qlate1', 'qlate2']);

      // Messages read back by a new client.
      assert.deepEqual(
        (await readAll(url, clusterID, 'r.a', 10)).map((m) => String(m.getData())),
        Array.from({ length: 10 }, (_, i) => `m${i + 1}`),
      );
      assert.deepEqual(
        (await readAll(url, clusterID, 'r.b', 6)).map((m) => String(m.getData())),
        ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'],
      );

      // The dead client is dropped by heartbeats: plain subscription gone, durable offline.
      await until(() => !core.clients.has('ghost'), 10000, 'ghost dropped');
      assert.equal(ghostPlain(), 0);
      const gd = [...(core.channels.get('r.ghost')?.durables.values() ?? [])];
      assert.equal(gd.length, 1);
      assert.equal(gd[0].isOffline, true);

      // ---------------------------------------------------------------- second restart
      const reconnected2 = Promise.all([nextReconnect(keeper), nextReconnect(pub)]);
      await s.close();
      s = await startServer(cfg);
      const core2 = s.server.core;
      assert.ok(!core2.clients.has('ghost'), 'the dropped client stays dropped');
      assert.equal([...(core2.channels.get('r.a')?.plainSubs ?? [])].filter((x) => x.state.clientID === 'ghost').length, 0);
      const gd2 = [...(core2.channels.get('r.ghost')?.durables.values() ?? [])];
      assert.equal(gd2.length, 1, 'the offline durable is kept');
      assert.equal(gd2[0].isOffline, true);
      assert.deepEqual(snapshot('r.dur'), [1, 8, 8]);
      assert.deepEqual(snapshot('r.b'), [1, 6, 6]);
      // Nothing is pending any more on the keeper's durable: no redelivery after this restart.
      await reconnected2;
      const n = kCol.msgs.length;
      await publish(pub, 'r.dur', 'd9');
      await until(() => kCol.msgs.length > n, 5000, 'd9');
      for (const m of kCol.msgs.slice(n)) m.ack();
      await sleep(1500);
      assert.deepEqual(kCol.msgs.slice(n).map((m) => [m.getSequence(), m.isRedelivered()]), [[9, false]]);
      // The ghost's durable resumes after 2 when its client comes back.
      const ghost2 = await connect(url, clusterID, 'ghost');
      clients.push(ghost2);
      await publish(pub, 'r.ghost', 'g3');
      const gSub2 = await subscribe(ghost2, 'r.ghost', opts(ghost2, (o) => o.setDurableName('gd').setDeliverAllAvailable()));
      const gCol2 = new Collector(gSub2, true);
      await gCol2.waitFor(1);
      await sleep(150);
      assert.deepEqual(gCol2.datas(), ['g3']);

      for (const c of clients.splice(0)) await close(c);
      await s.close();
    });

    test('a restart after max_msgs truncation keeps first/last/count', async () => {
      const port = await freePort();
      const clusterID = `dt-${store}-${process.pid}`;
      const cfg: EmbeddedServerConfig = {
        streaming: { ...(await storeOptionsFor(store)), clusterID, storeLimits: { ...defaultStoreLimits(), maxMsgs: 10 } },
        nats: { port },
      };
      let s = await startServer(cfg);
      open.push(() => s.close());
      const url = s.natsURL;
      const msgs = (): [number, number, number] => {
        const m = s.server.core.channels.get('t.lim')?.store.msgs;
        return m ? [m.firstSeq, m.lastSeq, m.msgCount] : [-1, -1, -1];
      };
      let sc = await connect(url, clusterID, 'tpub');
      await publishN(sc, 't.lim', 25);
      assert.deepEqual(msgs(), [16, 25, 10]);
      await close(sc);
      await s.close();

      s = await startServer(cfg);
      assert.deepEqual(msgs(), [16, 25, 10], 'after the first restart');
      sc = await connect(url, clusterID, 'tpub');
      for (let i = 26; i <= 30; i++) await publish(sc, 't.lim', `m${i}`);
      assert.deepEqual(msgs(), [21, 30, 10]);
      await close(sc);
      await s.close();

      s = await startServer(cfg);
      assert.deepEqual(msgs(), [21, 30, 10], 'after the second restart');
      const got = await readAll(url, clusterID, 't.lim', 10);
      assert.deepEqual(
        got.map((m) => [m.getSequence(), String(m.getData())]),
        Array.from({ length: 10 }, (_, i) => [21 + i, `m${21 + i}`]),
      );
      await s.close();
    });

    test('start at time over recovered messages: from the first one at or after the time, and none older (no index on ts: migration 0004)', async () => {
      const port = await freePort();
      const clusterID = `dst-${store}-${process.pid}`;
      const cfg: EmbeddedServerConfig = { streaming: { ...(await storeOptionsFor(store)), clusterID }, nats: { port } };
      let s = await startServer(cfg);
      open.push(() => s.close());
      const url = s.natsURL;
      const pub = await connect(url, clusterID, 'stpub');
      await publishN(pub, 't.time', 20);
      // Message timestamps have sub-millisecond resolution; the client's start time has ms.
      await sleep(30);
      const between = new Date();
      await sleep(30);
      await publishN(pub, 't.time', 20, 'n');
      await close(pub);
      await s.close();

      s = await startServer(cfg);
      const sc = await connect(url, clusterID, 'stsub');
      const col = new Collector(await subscribe(sc, 't.time', opts(sc, (o) => o.setStartTime(between))));
      const all = new Collector(await subscribe(sc, 't.time', opts(sc, (o) => o.setStartTime(new Date(between.getTime() - 3_600_000)))));
      await until(() => col.seqs().length >= 20 && all.seqs().length >= 40, 5000, 'the recovered messages from the start time');
      await flushNats(sc);
      assert.deepEqual(col.seqs(), Array.from({ length: 20 }, (_, i) => 21 + i));
      assert.deepEqual(all.seqs(), Array.from({ length: 40 }, (_, i) => 1 + i));
      await close(sc);
      await s.close();
    });
  });
}
