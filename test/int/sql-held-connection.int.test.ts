/**
 * The writer connection held between group commits (src/store/sql/dialect/held-connection.ts)
 * on real PostgreSQL, with the writer pool full: someone who asked the pool while a sync
 * commit was running on the held connection gets that connection when the commit ends, before
 * the next commit takes it again (the pool's other connection is busy in a long transaction).
 * Order of events only; the slow trigger and the long transaction just keep the window open.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { sharedPostgres } from '../helpers/db';
import { openSqlStoreAt } from '../helpers/sql-store';
import type { SqlStore } from '../../src/store/sql/sql-store';

const stores: SqlStore[] = [];
after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
});

interface TarnPool {
  numUsed(): number;
  numPendingAcquires(): number;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('someone waiting for the full writer pool during a sync commit is served before the next commit', async () => {
  const pg = await sharedPostgres();
  const store = await openSqlStoreAt('postgres', await pg.createDatabase('held_conn'));
  stores.push(store);
  const knex: Knex = store.adapter.knex;
  const pool = (knex.client as { pool: TarnPool }).pool;
  const ch = store.createChannel('a');
  let seq = 0;
  const publish = async (): Promise<void> => {
    seq++;
    ch.msgs.store({ seq, timestamp: 1e18 + seq, subject: 'a', reply: '', data: Buffer.from(`m${seq}`) });
    await store.commit();
  };
  await publish();
  await knex.raw(`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`);
  await knex.raw('CREATE TRIGGER slow_insert BEFORE INSERT ON stan_messages FOR EACH ROW EXECUTE FUNCTION slow_insert()');

  const order: string[] = [];
  // Another user of the writer pool holds its second connection until told to stop.
  let endLong: () => void = () => undefined;
  const longHeld = new Promise<void>((r) => (endLong = r));
  const long = knex.transaction(async (trx) => {
    await trx.raw('select 1');
    await longHeld;
  });
  await until('the long transaction has a connection', () => pool.numUsed() === 1 && pool.numPendingAcquires() === 0);
  const p1 = publish().then(() => order.push('publish 1 acked'));
  await until('the sync commit holds the other connection', () => pool.numUsed() === 2);
  // A third user asks the full pool while the commit runs: it waits in the pool's queue.
  const q = knex.raw('select 1').then(() => order.push('third user served'));
  await until('the third user waits', () => pool.numPendingAcquires() === 1);
  await p1;
  await publish().then(() => order.push('publish 2 acked'));
  endLong();
  await Promise.all([q, long]);
  assert.deepEqual(order, ['publish 1 acked', 'third user served', 'publish 2 acked']);
  await knex.raw('DROP TRIGGER slow_insert ON stan_messages');
});
