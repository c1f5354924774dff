/**
 * A commit that landed although the server saw it fail (the database connection broke while
 * COMMIT was being answered): the server retries the batch; the retry must not fail again on
 * the rows that are already there (that would stall the store for good), and nothing may be
 * stored or counted twice. Real databases (FILE = SQLite, PostgreSQL, MariaDB) and a real STAN
 * client; the lost answer is simulated by wrapping the store's batch writer: it writes, then throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, storeOptionsFor, type TestStore } from '../helpers/server';
import { close, Collector, connect, opts, publish, subscribe } from '../helpers/stan';
import type { SqlStore } from '../../src/store/sql/sql-store';

for (const kind of ['file', 'postgres', 'mysql'] as TestStore[]) {
  test(`${kind}: a lost commit answer is retried without stalling; after a restart every message is there once`, async () => {
    const streaming = { ...(await storeOptionsFor(kind)), clusterID: 'lost-commit' };
    const s1 = await startTestServer({ streaming });
    const sc = await connect(s1.natsURL, 'lost-commit', 'pub');
    const durable = new Collector(await subscribe(sc, 'audit', opts(sc, (o) => o.setDeliverAllAvailable().setDurableName('d'))));
    // The next batch lands, but its commit "fails" once.
    const store = s1.server.store as SqlStore;
    let lost = 0;
    const writer = store.writer;
    const write = writer.write.bind(writer);
    writer.write = async (batch) => {
      await write(batch);
      writer.write = write;
      lost++;
      throw new Error('injected: connection lost while COMMIT was answered');
    };
    // Publishers of the "failed" batch may get an error: the message is stored anyway.
    await Promise.allSettled(['a1', 'a2', 'a3'].map((d) => publish(sc, 'audit', d)));
    assert.equal(lost, 1, 'the hook fired');
    // The store recovers by itself: later publishes are acknowledged.
    await publish(sc, 'audit', 'after');
    assert.deepEqual((await durable.waitFor(4, 15000)).map((m) => String(m.getData())), ['a1', 'a2', 'a3', 'after']);
    await close(sc);
    await s1.close();

    const s2 = await startTestServer({ streaming });
    try {
      const sc2 = await connect(s2.natsURL, 'lost-commit', 'reader');
      const all = new Collector(await subscribe(sc2, 'audit', opts(sc2, (o) => o.setDeliverAllAvailable())));
      await all.waitFor(4);
      await new Promise((r) => setTimeout(r, 300));
      // Once each, in order, with the sequences they were acknowledged with.
      assert.deepEqual(all.datas(), ['a1', 'a2', 'a3', 'after']);
      assert.deepEqual(all.seqs(), [1, 2, 3, 4]);
      // The channel's counters (replayed from the events, some appended twice) agree.
      const ch = s2.server.store.lookupChannel('audit');
      assert.deepEqual([ch?.msgs.firstSeq, ch?.msgs.lastSeq, ch?.msgs.msgCount], [1, 4, 4]);
      await close(sc2);
    } finally {
      await s2.close();
    }
  });
}
