/**
 * Schema migrations, DBA scripts and the start-up schema check on real PostgreSQL 15,
 * MariaDB 10.11 and SQLite (test/helpers/db.ts starts the servers on loopback):
 *  - migrate up, idempotence, the migration lock (two concurrent migrators);
 *  - dry-run prints the SQL and changes nothing;
 *  - sql/<dialect>/*.sql are what gen-sql.ts generates, and applying them gives exactly the
 *    catalog (columns, types, nullability, defaults, indexes, keys) the migrations give;
 *  - the schema check: passes after migrate, NotInitialisedError on an empty database,
 *    SchemaTooOldError / SchemaTooNewError (a test-only migration list with one more migration),
 *    ReferenceDataError on the reference Go server's tables;
 *  - a DML-only role passes the check but cannot migrate (MigrationPermissionError).
 * The `migrate` command and the reference file-store detection: sql-migrations-cli.int.test.ts.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import knexFactory from 'knex';
import { sharedMariaDB, sharedPostgres, testDatabase, uniqueName } from '../helpers/db';
import { REPO_ROOT } from '../helpers/proc';
import { MIGRATIONS } from '../../migrations';
import { MigrationDef, SQL_DIALECTS } from '../../src/store/sql/migration-types';
import { migrate, MigrationLockTimeoutError, MigrationPermissionError, pendingMigrations } from '../../src/store/sql/migrator';
import {
  checkSchema,
  listTables,
  MAX_SCHEMA,
  MIN_SCHEMA,
  NotInitialisedError,
  prepareSchema,
  ReferenceDataError,
  SchemaTooNewError,
  SchemaTooOldError,
} from '../../src/store/sql/schema-check';
import { renderSqlScript, scriptPath } from '../../src/store/sql/gen-sql';
import {
  ALL,
  applyScript,
  catalog,
  cleanupMigrationTests,
  freshDb,
  FUTURE,
  FUTURE_VERSION,
  futureMigrations,
  KIND,
  knexFor,
  LATEST,
  migrateInChild,
  passwordOf,
  SLOW,
  TABLE_NAMES,
} from '../helpers/sql-migrations';

after(cleanupMigrationTests);

/** The index migration 0004 drops. */
const TS_INDEX = 'stan_messages_channel_ts_idx';

for (const dialect of SQL_DIALECTS) {
  describe(`migrations on ${dialect}`, { concurrency: false }, () => {
    test('migrate applies 0001 once, creating every table; the schema check then passes', async () => {
      const db = await freshDb(dialect);
      assert.deepEqual((await pendingMigrations(db.knex)).map((m) => m.name), ALL);
      const lines: string[] = [];
      const r = await migrate(db.knex, { log: (l) => lines.push(l) });
      assert.deepEqual(r.applied, ALL);
      assert.ok(lines.includes('applied migration 0001_initial'), lines.join('\n'));
      assert.deepEqual((await listTables(db.knex)).filter((t) => t.startsWith('stan_')).sort(), TABLE_NAMES);
      const recorded = await db.knex('stan_migrations').select('name', 'min_server_schema', 'applied_at');
      assert.equal(recorded.length, ALL.length);
      assert.equal(recorded[0].name, '0001_initial');
      assert.equal(Number(recorded[0].min_server_schema), 1);
      assert.ok(Math.abs(Number(recorded[0].applied_at) - Date.now()) < 60_000);
      const status = await checkSchema(db.knex, { dialect, source: db.source });
      assert.equal(status.version, LATEST);
      assert.deepEqual(status.pending, []);
      assert.deepEqual(status.warnings, []);
      assert.deepEqual((await migrate(db.knex)).applied, [], 'second run applies nothing');
      assert.deepEqual(await pendingMigrations(db.knex), []);
      // The schema holds what the store writes: a 1 MB payload, a BIGINT ns timestamp.
      const big = Buffer.alloc(1024 * 1024, 7);
      await db.knex('stan_messages').insert({ channel_id: 1, seq: 1, ts: 1_700_000_000_000_000_000n.toString(), size: big.length, data: big });
      const back = await db.knex('stan_messages').first('data', 'ts');
      assert.equal(Buffer.from(back.data).length, big.length);
      assert.equal(String(back.ts), '1700000000000000000');
      await db.knex('stan_events').insert([{ kind: 2, channel_id: null, body: Buffer.from('x') }, { kind: 3, channel_id: 1, body: Buffer.from('y') }]);
      const ids = (await db.knex('stan_events').select('event_id').orderBy('event_id')).map((r: { event_id: unknown }) => Number(r.event_id));
      assert.deepEqual(ids, [1, 2], 'auto-increment event ids');
    });

    test('two migrators at once: the lock lets exactly one apply each migration', async () => {
      const db = await freshDb(dialect);
      let applied: string[];
      if (dialect === 'sqlite') {
        // better-sqlite3 waits for a lock synchronously, blocking its whole process: race
        // three processes, as two servers would, all starting at the same instant.
        const startAt = Date.now() + 1500;
        const outs = await Promise.all([0, 1, 2].map(() => migrateInChild(db.source, startAt)));
        applied = outs.flatMap((o) => o.applied).filter((n) => n !== SLOW);
        assert.equal(outs.flatMap((o) => o.applied).length, ALL.length + 1, JSON.stringify(outs));
      } else {
        const results = await Promise.all([migrate(db.knex), migrate(knexFor(dialect, db.source)), migrate(knexFor(dialect, db.source))]);
        applied = results.flatMap((r) => r.applied);
      }
      assert.deepEqual(applied.sort(), ALL);
      const recorded = (await db.knex('stan_migrations').select('name')).map((r: { name: string }) => r.name).sort();
      assert.deepEqual(recorded, dialect === 'sqlite' ? [...ALL, SLOW] : ALL);
    });

    test('--dry-run prints the SQL of every pending migration and changes nothing', async () => {
      const db = await freshDb(dialect);
      const out: string[] = [];
      const r = await migrate(db.knex, { dryRun: true, log: (l) => out.push(l) });
      assert.deepEqual(r.applied, ALL);
      const text = out.join('\n');
      for (const t of TABLE_NAMES) assert.match(text, new RegExp(`create table [\`"]${t}[\`"]`), t);
      assert.match(text, /insert into [`"]stan_migrations[`"]/);
      assert.deepEqual(await listTables(db.knex), [], 'nothing created');
      // The same statements as the DBA script.
      const scripts = (await Promise.all(MIGRATIONS.map((m) => renderSqlScript(dialect, m as MigrationDef)))).join('\n');
      for (const s of r.statements) assert.ok(scripts.includes(s), `not in sql/${dialect}/*.sql: ${s}`);
      // Once migrated, a dry run has nothing to print.
      await migrate(db.knex);
      const after: string[] = [];
      assert.deepEqual((await migrate(db.knex, { dryRun: true, log: (l) => after.push(l) })).statements, []);
      assert.match(after.join('\n'), /up to date/);
    });

    test(`sql/${dialect}/*.sql are generated from the migrations and give exactly their catalog`, async () => {
      for (const m of MIGRATIONS) {
        const file = scriptPath(REPO_ROOT, dialect, m);
        assert.equal(fs.readFileSync(file, 'utf8'), await renderSqlScript(dialect, m), `${file} is stale: run npx tsx src/store/sql/gen-sql.ts`);
      }
      const viaMigrations = await freshDb(dialect);
      await migrate(viaMigrations.knex);
      const viaScripts = await freshDb(dialect);
      for (const m of MIGRATIONS) await applyScript(viaScripts, fs.readFileSync(scriptPath(REPO_ROOT, dialect, m), 'utf8'));
      const a = await catalog(viaMigrations);
      const b = await catalog(viaScripts);
      assert.ok(!JSON.stringify(a).includes(TS_INDEX), '0004 dropped the (channel_id, ts) index');
      assert.deepEqual(b, a);
      // The server sees the scripted database as migrated.
      const status = await checkSchema(viaScripts.knex, { dialect, source: viaScripts.source });
      assert.deepEqual(status.applied, MIGRATIONS.map((m) => m.name));
      assert.deepEqual(await pendingMigrations(viaScripts.knex), []);
      // And the comparison is sharp: one extra index is a difference.
      await viaScripts.knex.schema.alterTable('stan_events', (t) => t.index(['kind'], 'stan_events_kind_idx'));
      assert.notDeepEqual(await catalog(viaScripts), a);
    });

    test('0004 drops the (channel_id, ts) index of a database at 0003 holding messages, keeping the rows; both this release and one at schema 3 run on either', async () => {
      const db = await freshDb(dialect);
      const target = { dialect, source: db.source, dir: dialect === 'sqlite' ? db.source : undefined };
      const at3 = MIGRATIONS.filter((m) => m.version <= 3);
      await migrate(db.knex, { migrations: at3 });
      assert.ok(JSON.stringify(await catalog(db)).includes(TS_INDEX), 'schema 3 has the index (the catalog sees indexes)');
      const rowsIn = [1, 2, 3].map((seq) => ({ channel_id: 7, seq, ts: 1_765_065_600_123_456_768 + seq * 1000, size: 1, data: Buffer.from([seq]) }));
      await db.knex('stan_messages').insert(rowsIn);
      // This release on a database where 0004 is not applied (MIN_SCHEMA stays 1): a warning.
      const before = await checkSchema(db.knex, target);
      assert.equal(before.version, 3);
      assert.deepEqual(before.pending, ['0004_drop_channel_ts_index']);
      assert.deepEqual((await migrate(db.knex)).applied, ['0004_drop_channel_ts_index']);
      assert.ok(!JSON.stringify(await catalog(db)).includes(TS_INDEX), 'the index is gone');
      const back = await db.knex('stan_messages').select('seq').where('channel_id', 7).orderBy('seq');
      assert.deepEqual(back.map((r: { seq: number | string }) => Number(r.seq)), [1, 2, 3]);
      // A release that knows only schema 3 still starts on it: 0004 is an expand (min_server_schema 1).
      const older = await checkSchema(db.knex, { ...target, migrations: at3, minSchema: 1 });
      assert.equal(older.version, 3);
      assert.match(older.warnings.join(' '), /expanded by a newer server release/);
    });

    if (dialect !== 'sqlite') {
      test('0004 behind a long transaction on stan_messages (a backup): fails within its lock wait, saying what to do, applies nothing; applies once the transaction ends', async () => {
        const db = await freshDb(dialect);
        await migrate(db.knex, { migrations: MIGRATIONS.filter((m) => m.version <= 3) });
        // A reader's open transaction, as pg_dump's or mysqldump --single-transaction's.
        const holder = knexFor(dialect, db.source);
        const trx = await holder.transaction();
        await trx('stan_messages').select('seq').limit(1);
        // One connection: the session checked below is the one the migration ran on.
        const one = dialect === 'mysql' ? knexFactory({ client: 'mysql2', connection: db.source, pool: { min: 0, max: 1 } }) : db.knex;
        const t0 = Date.now();
        await assert.rejects(migrate(one), (err: Error) => {
          assert.ok(err instanceof MigrationLockTimeoutError, `${err.name}: ${err.message}`);
          assert.match(err.message, /0004_drop_channel_ts_index waited more than 5 s for a table that another transaction holds .*backup.*run the migration again once that transaction has ended/);
          assert.match(err.message, dialect === 'postgres' ? /Nothing of this run was applied/ : /The statement that waited was not applied/);
          return true;
        });
        // Bounded by DDL_LOCK_WAIT_S, not by the transaction (the 60 s migration lock wait).
        assert.ok(Date.now() - t0 < 30_000, `gave up after ${Date.now() - t0} ms`);
        assert.ok(JSON.stringify(await catalog(db)).includes(TS_INDEX), 'the index is still there');
        assert.deepEqual((await pendingMigrations(db.knex)).map((m) => m.name), ['0004_drop_channel_ts_index']);
        // A server starting with --sql_auto_migrate meanwhile starts on schema 3 (0004 is not
        // required), saying why 0004 is still pending.
        const started = await prepareSchema(one, { dialect, source: db.source, autoMigrate: true });
        assert.equal(started.version, 3);
        assert.equal(started.migrated, null);
        assert.match(started.warnings.join('\n'), /0004_drop_channel_ts_index waited more than 5 s for a table that another transaction holds/);
        if (dialect === 'mysql') {
          // The session's shortened lock wait is not left on the pooled connections.
          const [r] = (await one.raw('SELECT @@session.lock_wait_timeout AS s, @@global.lock_wait_timeout AS g')) as [Array<{ s: number; g: number }>];
          assert.equal(Number(r[0].s), Number(r[0].g));
          await one.destroy();
        }
        await trx.commit();
        await holder.destroy();
        assert.deepEqual((await migrate(db.knex)).applied, ['0004_drop_channel_ts_index']);
        assert.ok(!JSON.stringify(await catalog(db)).includes(TS_INDEX), 'the index is gone');
      });
    }

    test('schema check: not initialised, too old, too new, expanded by a newer release', async () => {
      const db = await freshDb(dialect);
      const target = { dialect, source: db.source, dir: dialect === 'sqlite' ? db.source : undefined };
      await assert.rejects(checkSchema(db.knex, target), (e: unknown) => {
        assert.ok(e instanceof NotInitialisedError, String(e));
        assert.match(e.message, /^database not initialised/);
        if (dialect === 'sqlite') assert.match(e.message, /migrate -store file -dir/);
        else {
          assert.match(e.message, new RegExp(`nats-streaming-server migrate --sql_driver ${dialect} --sql_source "`));
          assert.ok(!e.message.includes(passwordOf(db.source)), 'password redacted');
          assert.match(e.message, /<password>/);
        }
        assert.match(e.message, new RegExp(`sql/${dialect}/0001_initial\\.sql`));
        assert.ok(!e.message.includes('\n'), 'one line');
        return true;
      });

      // A release that needs the future migration on a database that lacks it.
      await migrate(db.knex, { migrations: futureMigrations(1) });
      await db.knex('stan_migrations').where('name', FUTURE).delete();
      await assert.rejects(checkSchema(db.knex, { ...target, migrations: futureMigrations(1) }), (e: unknown) => {
        assert.ok(e instanceof SchemaTooOldError, String(e));
        assert.deepEqual(e.missing, [FUTURE]);
        assert.match(e.message, new RegExp(`missing migration\\(s\\) ${FUTURE}`));
        assert.match(e.message, new RegExp(`sql/${dialect}/${FUTURE}\\.sql`));
        assert.match(e.message, /nats-streaming-server migrate /);
        return true;
      });
      // The same release, if it could still run without it (MIN_SCHEMA 1): a warning only.
      const lenient = await checkSchema(db.knex, { ...target, migrations: futureMigrations(1), minSchema: 1 });
      assert.deepEqual(lenient.pending, [FUTURE]);
      assert.match(lenient.warnings.join(' '), new RegExp(FUTURE));

      // Back to the future migration applied: this release meets a newer schema.
      await db.knex('stan_migrations').insert({ name: FUTURE, applied_at: Date.now(), min_server_schema: FUTURE_VERSION });
      await assert.rejects(checkSchema(db.knex, target), (e: unknown) => {
        assert.ok(e instanceof SchemaTooNewError, String(e));
        assert.deepEqual(e.unknown, [FUTURE]);
        assert.match(e.message, /newer than this server supports/);
        assert.match(e.message, /upgrade nats-streaming-server/);
        return true;
      });
      // An expand-only future migration (min_server_schema 1): this release keeps running, with a warning.
      await db.knex('stan_migrations').where('name', FUTURE).update({ min_server_schema: 1 });
      const expanded = await checkSchema(db.knex, target);
      assert.equal(expanded.version, LATEST);
      assert.match(expanded.warnings.join(' '), /expanded by a newer server release/);
      assert.equal(MIN_SCHEMA <= MAX_SCHEMA, true);
    });

    test('the reference Go server tables are refused, by the check and by migrate', async () => {
      const db = await freshDb(dialect);
      await db.knex.schema.createTable('ServerInfo', (t) => t.string('uniquerow'));
      await db.knex.schema.createTable('Channels', (t) => t.integer('id'));
      const attempts = [
        () => checkSchema(db.knex, { dialect, source: db.source }),
        () => prepareSchema(db.knex, { dialect, source: db.source, autoMigrate: true }),
      ];
      for (const attempt of attempts) {
        await assert.rejects(attempt(), (e: unknown) => {
          assert.ok(e instanceof ReferenceDataError, String(e));
          assert.match(e.message, /reference Go nats-streaming-server/);
          assert.match(e.message, /ServerInfo/);
          assert.match(e.message, /empty database/);
          return true;
        });
      }
      assert.ok(!(await db.knex.schema.hasTable('stan_migrations')), 'prepareSchema did not migrate');
      // One generic name (another application's `Messages` table) alone is not the reference.
      const other = await freshDb(dialect);
      await other.knex.schema.createTable('Messages', (t) => t.integer('id'));
      await migrate(other.knex);
      assert.equal((await checkSchema(other.knex, { dialect, source: other.source })).version, LATEST);
    });

    test('prepareSchema: runs no DDL unless allowed; SQLite migrates itself', async () => {
      const db = await freshDb(dialect);
      if (dialect === 'sqlite') {
        const s = await prepareSchema(db.knex, { dialect, dir: db.source, autoMigrate: false });
        assert.equal(s.version, LATEST);
        assert.deepEqual(s.migrated?.applied, ALL);
        return;
      }
      await assert.rejects(prepareSchema(db.knex, { dialect, source: db.source, autoMigrate: false }), NotInitialisedError);
      assert.deepEqual(await listTables(db.knex), [], 'no DDL without --sql_auto_migrate');
      const s = await prepareSchema(db.knex, { dialect, source: db.source, autoMigrate: true });
      assert.equal(s.version, LATEST);
      assert.deepEqual(s.migrated?.applied, ALL);
    });
  });
}

for (const dialect of ['postgres', 'mysql'] as const) {
  test(`${dialect}: a SELECT/INSERT/UPDATE/DELETE role passes the schema check but cannot migrate`, async () => {
    const inst = dialect === 'postgres' ? await sharedPostgres() : await sharedMariaDB();
    // A migrated database (by the admin role) and an empty one.
    const migrated = await testDatabase(KIND[dialect], 'rst');
    await migrate(knexFor(dialect, migrated.url));
    const empty = await testDatabase(KIND[dialect], 'rse');
    const role = uniqueName('dml');
    const pw = 'dml-secret';
    const roleOnMigrated = knexFor(dialect, await inst.createRestrictedRole(migrated.name, role, pw));
    const status = await checkSchema(roleOnMigrated, { dialect, source: migrated.url });
    assert.equal(status.version, LATEST);
    // It can write rows (what the server does) ...
    await roleOnMigrated('stan_server').insert({ id: 1, cluster_id: 'c', created_at: Date.now() });
    await roleOnMigrated('stan_events').insert({ kind: 1, body: Buffer.from('e') });
    // ... and migrate has nothing to do, so succeeds without DDL.
    assert.deepEqual((await migrate(roleOnMigrated)).applied, []);

    const role2 = uniqueName('dml');
    const roleOnEmpty = knexFor(dialect, await inst.createRestrictedRole(empty.name, role2, pw));
    await assert.rejects(migrate(roleOnEmpty), (e: unknown) => {
      assert.ok(e instanceof MigrationPermissionError, String(e));
      assert.match(e.message, /^cannot migrate the schema: the database role may not change it/);
      assert.match(e.message, new RegExp(`sql/${dialect}/`));
      return true;
    });
    assert.deepEqual(await listTables(knexFor(dialect, empty.url)), [], 'nothing half-created');
  });
}
