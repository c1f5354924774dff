/**
 * Group commits without Knex's transaction objects (src/store/sql/direct-tx.ts) on real
 * PostgreSQL and MariaDB:
 *
 *  - event rows and message rows of one transaction are committed together, the events in
 *    the order given (their IDs follow it);
 *  - a transaction that may not commit (the pipelining gate rejects: an earlier commit
 *    failed) leaves nothing behind, and its connection goes back to the pool outside any
 *    transaction: the next transactions on both pooled connections commit only their own
 *    rows. Without the ROLLBACK, MariaDB's next BEGIN would commit the refused rows
 *    implicitly, and PostgreSQL's next COMMIT would commit them with its own.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { num } from '../../src/store/sql/dialect';
import type { DirectTxDriver, EventRowValues, MsgRowKey } from '../../src/store/sql/dialect/types';
import { writeDirect, type DirectBatch } from '../../src/store/sql/direct-tx';
import type { DbKind } from '../helpers/db';
import { openTestSqlStore } from '../helpers/sql-store';

const stores: SqlStore[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
});

/** Event kinds no store writes: the test's rows are told apart from the store's own. */
const KIND = 200;

function batch(channelID: number, seqs: number[], bodies: string[]): DirectBatch {
  const rows: MsgRowKey[] = seqs.map((seq) => ({ channel_id: channelID, seq, ts: 1_700_000_000_000 + seq, size: 3 }));
  const events: EventRowValues[] = bodies.map((b) => ({ kind: KIND, channel_id: channelID, body: Buffer.from(b) }));
  return { events, eventsPerInsert: 2, rows, data: seqs.map((s) => Buffer.from(`m${s}`)), maxStatementBytes: 1 << 20 };
}

async function storedSeqs(store: SqlStore, channelID: number): Promise<number[]> {
  const rows = (await store.adapter.knex('stan_messages').select('seq').where('channel_id', channelID).orderBy('seq')) as Array<{ seq: number | string }>;
  return rows.map((r) => num(r.seq));
}

async function storedBodies(store: SqlStore): Promise<string[]> {
  const rows = (await store.adapter.knex('stan_events').select('body').where('kind', KIND).orderBy('event_id')) as Array<{ body: Buffer }>;
  return rows.map((r) => Buffer.from(r.body).toString());
}

for (const kind of ['postgres', 'mariadb'] as const satisfies readonly DbKind[]) {
  describe(`group commit without Knex transactions (${kind})`, () => {
    test('events and rows commit together, events in order; a refused commit leaves nothing and no open transaction', async () => {
      const { store } = await openTestSqlStore(kind, 'directtx');
      stores.push(store);
      const driver = store.adapter.dialect.directTx as DirectTxDriver;
      assert.ok(driver !== undefined, `${kind} writes its group commits directly`);
      const knex = store.adapter.knex;

      // Five events in statements of two: IDs follow the order given.
      await writeDirect(knex, driver, batch(7, [1, 2, 3], ['e1', 'e2', 'e3', 'e4', 'e5']), undefined);
      assert.deepEqual(await storedSeqs(store, 7), [1, 2, 3]);
      assert.deepEqual(await storedBodies(store), ['e1', 'e2', 'e3', 'e4', 'e5']);

      // Two refused at the gate at once: each holds one of the pool's two connections.
      let readied = 0;
      const refuse = { ready: () => void readied++, mayCommit: () => Promise.reject(new Error('earlier commit failed')) };
      const refused = await Promise.allSettled([writeDirect(knex, driver, batch(7, [4, 5], ['x1']), refuse), writeDirect(knex, driver, batch(7, [6], ['x2']), refuse)]);
      assert.deepEqual(
        refused.map((r) => r.status),
        ['rejected', 'rejected'],
      );
      assert.equal(readied, 2, 'the gate was told once the events were written');

      // The next transactions run on the same two connections: only their own rows land.
      await Promise.all([writeDirect(knex, driver, batch(7, [10], ['ok1']), undefined), writeDirect(knex, driver, batch(7, [11], ['ok2']), undefined)]);
      assert.deepEqual(await storedSeqs(store, 7), [1, 2, 3, 10, 11]);
      assert.deepEqual((await storedBodies(store)).slice(0, 5), ['e1', 'e2', 'e3', 'e4', 'e5']);
      assert.deepEqual((await storedBodies(store)).slice(5).sort(), ['ok1', 'ok2']);
    });
  });
}
