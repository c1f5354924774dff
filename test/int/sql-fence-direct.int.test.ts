/**
 * FT's fence in the SQL stores' direct group commits (src/store/sql/direct-tx.ts,
 * DirectTxDriver.fencedBegin) on real PostgreSQL and MariaDB: every group commit runs the
 * lease's UPDATE first, in its own transaction, without Knex's transaction (the Knex fence is
 * not called); a lease taken over by another server refuses the commit with the lease's error
 * and nothing of the batch is stored; pipelined commits are each fenced and all land.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { setCountingFence } from '../helpers/fence';
import { Lease, LeaseLostError } from '../../src/ft/lease';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { num } from '../../src/store/sql/dialect';
import { openTestSqlStore } from '../helpers/sql-store';

const stores: SqlStore[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
});

async function storedSeqs(knex: Knex): Promise<number[]> {
  const rows = (await knex('stan_messages').select('seq').orderBy('seq')) as Array<{ seq: number | string }>;
  return rows.map((r) => num(r.seq));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describe(`fenced direct group commits (${kind})`, () => {
    test('each commit runs the fence UPDATE first; a lost lease stores nothing of the batch', async () => {
      const { store } = await openTestSqlStore(kind, 'fence_direct', 2); // depth 2: the pipelined case below has two transactions in flight
      stores.push(store);
      // The server record's first commit goes through Knex (it inserts stan_server): done first.
      await store.commit();
      const knex = store.adapter.knex;
      // Quotes and backslashes in the names: PostgreSQL's fence is sent with its values written
      // in (Knex's escaping), so they must arrive as the same strings.
      const group = "g'\\1";
      const lease = new Lease(knex, kind === 'postgres' ? 'postgres' : 'mysql', { group, owner: "me'\\", ttlMs: 60_000 });
      await lease.init();
      assert.ok((await lease.tryAcquire()) > 0);
      if (kind === 'postgres') assert.match(lease.fenceStatement().guard ?? '', /idle_in_transaction_session_timeout/);
      const fence = setCountingFence(store, lease);
      const ch = store.createChannel('foo');
      const put = (from: number, to: number): void => {
        for (const seq of range(from, to)) ch.msgs.store({ seq, timestamp: 1_700_000_000_000_000_000 + seq, subject: 'foo', reply: '', data: Buffer.from(`m${seq}`) });
      };
      // The channel's creation event and the first rows: one fenced transaction.
      put(1, 50);
      await store.commit();
      const w1 = (await lease.peek())?.writes ?? 0;
      // A lone row (a sync publisher's) and a larger batch: one fence each.
      put(51, 51);
      await store.commit();
      assert.equal((await lease.peek())?.writes, w1 + 1, 'the lone row was fenced');
      put(52, 300);
      await store.commit();
      assert.equal((await lease.peek())?.writes, w1 + 2, 'the batch was fenced');
      assert.equal(fence.knexFence, 0, 'group commits fence in their direct transactions, not through Knex');
      assert.deepEqual(await storedSeqs(knex), range(1, 300));

      // Pipelined: several commits started at once, each fenced, all stored.
      const commits: Array<Promise<void>> = [];
      for (let k = 0; k < 4; k++) {
        put(301 + k * 100, 400 + k * 100);
        commits.push(store.commit());
      }
      await Promise.all(commits);
      const w2 = (await lease.peek())?.writes ?? 0;
      assert.ok(w2 > w1 + 2, 'the pipelined commits were fenced');
      assert.deepEqual(await storedSeqs(knex), range(1, 700));

      // Another server takes the lease over (a new epoch).
      await knex('stan_lease').where('group_name', group).update({ owner: 'other', epoch: knex.raw('epoch + 1') });
      put(701, 720);
      await assert.rejects(store.commit(), LeaseLostError);
      assert.ok(fence.lost >= 1, 'the fence source made the error (the FT controller hears of it)');
      assert.deepEqual(await storedSeqs(knex), range(1, 700), 'nothing of the fenced-out batch is stored');
      assert.equal((await lease.peek())?.owner, 'other');
      store.setFence(async () => undefined);
    });
  });
}
