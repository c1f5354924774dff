/**
 * `--sql_commit_depth` reaches the SQL store (real PostgreSQL): the options are loaded from
 * the command line exactly as the server loads them, the store is made by the store factory
 * (openStore), and PostgreSQL itself reports, from a trigger on every message INSERT, how many
 * other transactions of the database hold written, uncommitted rows at that moment.
 *
 *  - depth 2: the store's next batch writes its rows while the one before has not committed
 *    yet, so some INSERT sees another writing transaction (loaded until it does);
 *  - depth 1: a batch starts only after the one before committed, so no INSERT ever does.
 *
 * Both are asserted whatever the default depth is, so a flag that does not reach the store
 * fails one of them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import { loadOptions } from '../../src/config/load';
import { silentLogger } from '../../src/logging/logger';
import { openStore } from '../../src/store/open-store';
import type { SqlStore } from '../../src/store/sql/sql-store';
import type { ChannelStore } from '../../src/store/contract';
import { testDatabase } from '../helpers/db';
import { serverInfo } from '../helpers/store';
import { untilAsync } from '../helpers/stan';

const TS = 1_700_000_000_000_000_000;
const stores: SqlStore[] = [];
const clients: PgClient[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
});

/**
 * Records, per INSERT statement into stan_messages, the count of other backends of this
 * database with a transaction ID (one that wrote and has not ended; readers never get one).
 */
const PROBE = `
CREATE TABLE depth_probe (others int NOT NULL);
CREATE FUNCTION depth_probe() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_stat_clear_snapshot();
  INSERT INTO depth_probe SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL;
  RETURN NULL;
END $$;
CREATE TRIGGER depth_probe AFTER INSERT ON stan_messages FOR EACH STATEMENT EXECUTE FUNCTION depth_probe();
`;

async function storeWithDepth(depth: number): Promise<{ store: SqlStore; pg: PgClient }> {
  const db = await testDatabase('postgres', `depth_opt${depth}`);
  const loaded = loadOptions(
    ['-store', 'sql', '--sql_driver', 'postgres', '--sql_source', db.url, '--sql_auto_migrate', '-cid', 'c1', '--sql_commit_depth', String(depth)],
    {},
  );
  assert.equal(loaded.kind, 'run');
  if (loaded.kind !== 'run') throw new Error('unreachable');
  const store = (await openStore(loaded.options.streaming, silentLogger)) as SqlStore;
  stores.push(store);
  await store.recover();
  store.init(serverInfo('c1'));
  const pg = new PgClient({ connectionString: db.url });
  clients.push(pg);
  await pg.connect();
  await pg.query(PROBE);
  return { store, pg };
}

/** Lets the commit loop launch what was recorded so far (it starts at the end of the turn). */
function nextTurn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** `groups` commits of 50 messages, some recorded while earlier ones are in flight; returns the next seq. */
async function load(ch: ChannelStore, store: SqlStore, from: number, groups: number): Promise<number> {
  let seq = from;
  const commits: Array<Promise<void>> = [];
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < 50; i++, seq++) ch.msgs.store({ seq, timestamp: TS + seq, subject: 'foo', reply: '', data: Buffer.from(`m${seq}`) });
    commits.push(store.commit());
    if (g % 2 === 0) await nextTurn();
  }
  await Promise.all(commits);
  return seq;
}

async function probes(pg: PgClient): Promise<{ inserts: number; maxOthers: number }> {
  const r = await pg.query('SELECT count(*)::int AS n, coalesce(max(others), 0)::int AS m FROM depth_probe');
  const row = r.rows[0] as { n: number; m: number };
  return { inserts: row.n, maxOthers: row.m };
}

test('--sql_commit_depth 2: a batch writes while the one before is still uncommitted', async () => {
  const { store, pg } = await storeWithDepth(2);
  const ch = store.createChannel('foo');
  await store.commit();
  let seq = 1;
  await untilAsync(
    async () => {
      seq = await load(ch, store, seq, 100);
      return (await probes(pg)).maxOthers >= 1;
    },
    120_000,
    'an INSERT while another transaction of the store was uncommitted',
    0,
  );
});

test('--sql_commit_depth 1: no batch ever writes while another is uncommitted', async () => {
  const { store, pg } = await storeWithDepth(1);
  const ch = store.createChannel('foo');
  await store.commit();
  let seq = 1;
  for (let round = 0; round < 5; round++) seq = await load(ch, store, seq, 100);
  const p = await probes(pg);
  assert.ok(p.inserts >= 10, `message INSERTs probed: ${p.inserts}`);
  assert.equal(p.maxOthers, 0, 'another writing transaction was open during an INSERT');
  assert.equal(await store.checkHealth(), undefined);
});
