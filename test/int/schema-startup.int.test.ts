/**
 * The start-up schema check on the store's own raw reads (src/store/sql/schema-startup.ts,
 * open.ts `rawRows`) on real PostgreSQL 15, MariaDB 10.11 and SQLite: on every state a
 * start-up meets — no schema, up to date, expanded or contracted by a newer release,
 * reference tables — it gives what prepareSchema on Knex gives (same status, same refusal),
 * and the FILE store's writer connection (sqlite-connection.ts) is lent to one user at a time,
 * Knex included.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testDatabase } from '../helpers/db';
import { openSql, openSqlite } from '../../src/store/sql/open';
import type { DialectAdapter } from '../../src/store/sql/dialect';
import type { SqlDialect } from '../../src/store/sql/migration-types';
import { migrate } from '../../src/store/sql/migrator';
import { prepareSchema, type PrepareSchemaOptions } from '../../src/store/sql/schema-check';
import { prepareSchemaAtStartup, startupSchema } from '../../src/store/sql/schema-startup';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-schema-startup-'));
const adapters: DialectAdapter[] = [];
after(async () => {
  for (const a of adapters) await a.close().catch(() => undefined);
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

async function fresh(dialect: SqlDialect): Promise<{ adapter: DialectAdapter; opts: PrepareSchemaOptions }> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'file-'));
    const adapter = await openSqlite({ dir, sync: false });
    adapters.push(adapter);
    return { adapter, opts: { dialect, dir, autoMigrate: true } };
  }
  const t = await testDatabase(dialect === 'postgres' ? 'postgres' : 'mariadb', 'schst');
  const adapter = await openSql({ driver: dialect, source: t.url, maxOpenConns: 2 });
  adapters.push(adapter);
  return { adapter, opts: { dialect, source: t.url, autoMigrate: false } };
}

/** The outcome of a check: its status, or the refusal's class and message. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (st) => ({ ok: st }),
    (e: unknown) => ({ refused: e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e) }),
  );
}

async function sameAsKnex(a: DialectAdapter, opts: PrepareSchemaOptions, what: string): Promise<unknown> {
  const raw = await outcome(startupSchema(a, opts));
  const viaKnex = await outcome(prepareSchema(a.knex, opts));
  assert.deepEqual(raw, viaKnex, what);
  return raw;
}

for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  test(`${dialect}: the raw start-up check says what prepareSchema on Knex says`, async () => {
    const { adapter: a, opts } = await fresh(dialect);
    if (dialect !== 'sqlite') {
      // No schema, no --sql_auto_migrate: refused alike.
      assert.match(JSON.stringify(await sameAsKnex(a, opts, 'not initialised')), /NotInitialisedError: database not initialised/);
      await migrate(a.knex);
    } else {
      // FILE migrates itself (the full path), then finds nothing to do.
      const first = (await outcome(startupSchema(a, opts))) as { ok: { migrated: { applied: string[] } } };
      assert.ok(first.ok.migrated.applied.length > 0, 'the schema was created');
    }
    const upToDate = (await sameAsKnex(a, opts, 'up to date')) as { ok: { pending: string[]; tables: string[] } };
    assert.deepEqual(upToDate.ok.pending, []);
    assert.ok(upToDate.ok.tables.includes('stan_events'), 'the table list was read');
    // And it was the raw reads that said so: Knex is not asked for.
    const rawOnly = await prepareSchemaAtStartup(a.rawRows, () => assert.fail('Knex asked for on an up-to-date schema'), opts);
    assert.deepEqual(rawOnly, upToDate.ok);

    // A newer release expanded the schema: a warning; contracted it: refused.
    await a.knex('stan_migrations').insert({ name: '9999_future', applied_at: Date.now(), min_server_schema: 1 });
    assert.match(JSON.stringify(await sameAsKnex(a, opts, 'expanded')), /expanded by a newer server release/);
    await a.knex('stan_migrations').where('name', '9999_future').update({ min_server_schema: 9999 });
    assert.match(JSON.stringify(await sameAsKnex(a, opts, 'contracted')), /SchemaTooNewError/);
    await a.knex('stan_migrations').where('name', '9999_future').delete();

    // The reference server's tables beside ours: refused alike.
    await a.knex.schema.createTable('ServerInfo', (t) => t.string('uniquerow'));
    assert.match(JSON.stringify(await sameAsKnex(a, opts, 'reference tables')), /ReferenceDataError/);
  });
}

test('FILE: the writer connection is lent to one user at a time, Knex included, in arrival order', async () => {
  const { adapter: a, opts } = await fresh('sqlite');
  await startupSchema(a, opts);
  const writer = a.sqliteWriter;
  assert.ok(writer !== undefined);
  const c1 = await writer.acquireConnection();
  const order: string[] = [];
  // Knex waits for the connection, then the second borrower waits for Knex's transaction.
  const viaKnex = a.knex.transaction(async (trx) => {
    order.push('knex');
    await trx('stan_migrations').insert({ name: '9998_lent', applied_at: 1, min_server_schema: 1 });
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  };
  await settle(); // Knex has asked for the connection by now
  const second = writer.acquireConnection().then((c) => {
    order.push('second');
    return c;
  });
  await settle();
  assert.deepEqual(order, [], 'both wait while the connection is lent');
  await writer.releaseConnection(c1);
  await viaKnex;
  const c2 = await second;
  assert.deepEqual(order, ['knex', 'second']);
  assert.equal(c2, c1, 'one connection');
  // Knex's transaction committed on it before the second borrower got it.
  assert.equal((c2.prepare("SELECT count(*) AS n FROM stan_migrations WHERE name = '9998_lent'").get() as { n: number }).n, 1);
  await writer.releaseConnection(c2);
});
