/**
 * The start-up schema check on raw reads (src/store/sql/schema-startup.ts) against scripted
 * answers, no database: a schema that is up to date is checked with the two reads alone and
 * Knex is never asked for; reference tables, a missing schema and a pending migration (FILE,
 * or --sql_auto_migrate) take the full path on Knex; refusals and warnings are the ones the
 * Knex-based check gives (evaluateSchema is shared). test/int/schema-startup.int.test.ts runs
 * the same on real databases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations';
import { MIGRATION_ROWS_SQL, SchemaTooNewError, TABLE_LIST_SQL, type PrepareSchemaOptions } from '../../src/store/sql/schema-check';
import { prepareSchemaAtStartup } from '../../src/store/sql/schema-startup';
import type { SqlDialect } from '../../src/store/sql/migration-types';

const OUR_TABLES = ['stan_migrations', 'stan_server', 'stan_events', 'stan_messages', 'stan_snapshots'];

/** Answers the two statements of the check; records what was asked. */
function scripted(dialect: SqlDialect, tables: string[], applied: Array<{ name: string; min_server_schema: number | string }>) {
  const asked: string[] = [];
  const rows = async (sql: string): Promise<unknown[]> => {
    asked.push(sql);
    if (sql === TABLE_LIST_SQL[dialect]) return tables.map((tn) => ({ tn }));
    if (sql === MIGRATION_ROWS_SQL) return applied;
    throw new Error(`unexpected statement ${sql}`);
  };
  return { rows, asked };
}

/** Stands for "the full path was taken": the Knex thunk is called, and the test sees it. */
class FullPath extends Error {}
const noKnex = (): Knex => {
  throw new FullPath('Knex was asked for');
};

const ALL_APPLIED = MIGRATIONS.map((m) => ({ name: m.name, min_server_schema: m.minServerSchema }));

for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  const opts: PrepareSchemaOptions = { dialect, source: 'postgres://u:secret@h/db', dir: '/nonexistent-stan-dir', autoMigrate: dialect === 'sqlite' };

  test(`${dialect}: a schema up to date is checked with two reads, without Knex`, async () => {
    const s = scripted(dialect, OUR_TABLES, ALL_APPLIED);
    const st = await prepareSchemaAtStartup(s.rows, noKnex, opts);
    assert.deepEqual(s.asked, [TABLE_LIST_SQL[dialect], MIGRATION_ROWS_SQL]);
    assert.equal(st.version, MIGRATIONS[MIGRATIONS.length - 1]?.version);
    assert.deepEqual(st.pending, []);
    assert.deepEqual(st.warnings, []);
    assert.deepEqual(st.tables, OUR_TABLES);
    // As prepareSchema reports it: the migrator ran (FILE) and found nothing to do.
    assert.deepEqual(st.migrated, dialect === 'sqlite' ? { applied: [], statements: [] } : null);
  });

  test(`${dialect}: reference tables or no schema take the full path (Knex)`, async () => {
    await assert.rejects(prepareSchemaAtStartup(scripted(dialect, ['ServerInfo', 'SubsPending', ...OUR_TABLES], ALL_APPLIED).rows, noKnex, opts), FullPath);
    await assert.rejects(prepareSchemaAtStartup(scripted(dialect, [], []).rows, noKnex, opts), FullPath);
  });

  test(`${dialect}: a pending migration is applied on the full path when migrating is allowed, else a warning`, async () => {
    const older = ALL_APPLIED.slice(0, -1);
    const migrating = { ...opts, autoMigrate: true };
    await assert.rejects(prepareSchemaAtStartup(scripted(dialect, OUR_TABLES, older).rows, noKnex, migrating), FullPath);
    if (dialect === 'sqlite') return; // FILE always migrates
    const st = await prepareSchemaAtStartup(scripted(dialect, OUR_TABLES, older).rows, noKnex, { ...opts, autoMigrate: false });
    assert.deepEqual(st.pending, [MIGRATIONS[MIGRATIONS.length - 1]?.name]);
    assert.match(st.warnings.join(' '), /pending schema migration/);
    assert.equal(st.migrated, null);
  });

  test(`${dialect}: a schema contracted by a newer release is refused on the raw reads`, async () => {
    const newer = [...ALL_APPLIED, { name: '9999_future', min_server_schema: '9999' }];
    await assert.rejects(prepareSchemaAtStartup(scripted(dialect, OUR_TABLES, newer).rows, noKnex, opts), (e: unknown) => {
      assert.ok(e instanceof SchemaTooNewError, String(e));
      assert.deepEqual(e.unknown, ['9999_future']);
      assert.match(e.message, /upgrade nats-streaming-server/);
      return true;
    });
  });
}
