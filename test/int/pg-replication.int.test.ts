/**
 * PostgreSQL primary + synchronous standby (test/helpers/pg-replication.ts) and the multi-host
 * `--sql_source` (src/store/sql/pg-multihost.ts) through the store's connection opening
 * (src/store/sql/open.ts): the writer's Knex and the readers follow the primary across a
 * failover (primary stopped, standby promoted).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openLeaseKnex, openSql } from '../../src/store/sql/open';
import { Lease } from '../../src/ft/lease';
import type { DialectAdapter } from '../../src/store/sql/dialect';
import { startPgReplication, type PgReplication } from '../helpers/pg-replication';
import type { PgInstance } from '../helpers/db';

let r: PgReplication;
const adapters: DialectAdapter[] = [];

before(async () => {
  r = await startPgReplication();
});

after(async () => {
  await Promise.all(adapters.map((a) => a.close().catch(() => undefined)));
  await r?.destroy();
});

async function query<T>(inst: PgInstance, sql: string): Promise<T[]> {
  const c = new PgClient({ host: inst.host, port: inst.port, user: inst.user, password: inst.password, database: inst.database, ssl: false });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Retries `f` until it succeeds: the first queries after a failover fail (connections to the old primary). */
async function eventually<T>(what: string, f: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 600; i++) {
    try {
      return await f();
    } catch (err) {
      last = err;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  throw new Error(`${what}: ${String(last)}`);
}

test('a row committed on the primary is on the standby', async () => {
  await query(r.primary, 'CREATE TABLE t (id INT PRIMARY KEY, v TEXT)');
  await query(r.primary, "INSERT INTO t VALUES (1, 'committed on the primary')");
  const rows = await eventually('the row on the standby', async () => {
    const x = await query<{ v: string }>(r.standby, 'SELECT v FROM t WHERE id = 1');
    if (x.length === 0) throw new Error('not replayed yet');
    return x;
  });
  assert.deepEqual(rows, [{ v: 'committed on the primary' }]);
  assert.deepEqual(await query(r.standby, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
});

test('target_session_attrs=standby picks the standby even though the primary is listed first', async () => {
  const a = await openSql({ driver: 'postgres', source: r.multiHostSource({ target: 'standby' }), maxOpenConns: 1 });
  adapters.push(a);
  const row = (await a.knex.raw('SELECT inet_server_port() AS port, pg_is_in_recovery() AS r')) as { rows: Array<{ port: number; r: boolean }> };
  assert.deepEqual(row.rows, [{ port: r.standby.port, r: true }]);
  await a.close();
  adapters.pop();
});

test('after the primary stops and the standby is promoted, the multi-host source connects to the new primary', async () => {
  // The URL form finds the primary too (checked before the failover; the key/value form across it).
  const viaUrl = await openSql({ driver: 'postgres', source: r.multiHostSource({ url: true }), maxOpenConns: 1 });
  const x = (await viaUrl.knex.raw('SELECT inet_server_port() AS port')) as { rows: Array<{ port: number }> };
  await viaUrl.close();
  assert.deepEqual(x.rows, [{ port: r.primary.port }]);

  const a = await openSql({ driver: 'postgres', source: r.multiHostSource(), maxOpenConns: 2 });
  adapters.push(a);
  const before = (await a.knex.raw('SELECT inet_server_port() AS port')) as { rows: Array<{ port: number }> };
  assert.deepEqual(before.rows, [{ port: r.primary.port }]);
  await a.knex('t').insert({ id: 2, v: 'before the failover' });

  await r.primary.stop();
  await r.standby.promote();

  // Writer (Knex) and readers (Kysely) reconnect to the promoted standby.
  await eventually('a write through the writer after the failover', () => a.knex('t').insert({ id: 3, v: 'after the failover' }));
  const port = (await a.knex.raw('SELECT inet_server_port() AS port, pg_is_in_recovery() AS r')) as { rows: Array<{ port: number; r: boolean }> };
  assert.deepEqual(port.rows, [{ port: r.standby.port, r: false }]);
  const rows = await eventually('a read through the readers after the failover', async () => {
    const { sql } = await import('kysely');
    return (await sql<{ id: number; v: string }>`SELECT id, v FROM t ORDER BY id`.execute(a.db)).rows;
  });
  // Nothing acknowledged by the old primary is lost (synchronous_commit=on).
  assert.deepEqual(rows.map((x) => x.id), [1, 2, 3]);
});

test('the FT lease connection follows the promoted primary too (multi-host source)', async () => {
  // Runs after the failover above: the first host listed is down, the second is the primary.
  const { knex } = await openLeaseKnex({ kind: 'sql', driver: 'postgres', source: r.multiHostSource() }, 1000);
  try {
    const ddl = fs.readFileSync(path.resolve(__dirname, '../../sql/postgres/0002_ft_lease.sql'), 'utf8');
    const create = ddl.split(';').map((x) => x.replace(/^\s*--.*$/gm, '').trim()).find((x) => x.startsWith('create table'));
    assert.ok(create !== undefined);
    await knex.raw(create);
    const lease = new Lease(knex, 'postgres', { group: 'g', owner: 'n1', ttlMs: 2000 });
    await lease.init();
    assert.equal(await lease.tryAcquire(), 1);
    const at = (await knex.raw('SELECT inet_server_port() AS port')) as { rows: Array<{ port: number }> };
    assert.deepEqual(at.rows, [{ port: r.standby.port }]);
  } finally {
    await knex.destroy();
  }
});

test('no host fits: the error names every host and why', async () => {
  // After the failover: the first host is down, the second is a primary; nobody is a standby.
  const a = await openSql({ driver: 'postgres', source: r.multiHostSource({ target: 'standby' }), maxOpenConns: 1 });
  try {
    await assert.rejects(a.knex.raw('SELECT 1'), (err: Error) => {
      assert.match(err.message, /could not connect to any PostgreSQL server of --sql_source with target_session_attrs=standby/);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${r.primary.port}: .*ECONNREFUSED`));
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${r.standby.port} is a read-write primary`));
      assert.doesNotMatch(err.message, new RegExp(r.primary.password));
      return true;
    });
  } finally {
    await a.close();
  }
});
