/**
 * Schema migrations, DBA scripts and the start-up schema check on real PostgreSQL 15,
 * MariaDB 10.11 and SQLite (test/helpers/db.ts starts the servers on loopback):
 *  - migrate up, idempotence, the migration lock (two concurrent migrators);
 *  - dry-run prints the SQL and changes nothing;
 *  - sql/<dialect>/*.sql are what gen-sql.ts generates, and applying them gives exactly the
 *    catalog (columns, types, nullability, defaults, indexes, keys) the migrations give;
 *  - the schema check: passes after migrate, NotInitialisedError on an empty database,
 *    SchemaTooOldError / SchemaTooNewError (a test-only migration list with one more migration),
 *    ReferenceDataError on the reference Go server's tables and file-store layout;
 *  - a DML-only role passes the check but cannot migrate (MigrationPermissionError);
 *  - the `migrate` command end to end (node bin/nats-streaming-server.js, from dist/).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import BetterSqlite3 from 'better-sqlite3';
import { sharedMariaDB, sharedPostgres, testDatabase, uniqueName, type DbKind } from '../helpers/db';
import { BIN, REPO_ROOT } from '../helpers/proc';
import { MIGRATIONS } from '../../migrations';
import { MigrationDef, SqlDialect, SQL_DIALECTS } from '../../src/store/sql/migration-types';
import { migrate, MigrationPermissionError, pendingMigrations } from '../../src/store/sql/migrator';
import {
  checkSchema,
  migrateCommand,
  redactSource,
  detectReferenceFileStore,
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
import { TABLES } from '../../src/store/sql/schema';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-migr-'));
const open: Knex[] = [];
after(async () => {
  await Promise.all(open.map((k) => k.destroy().catch(() => undefined)));
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

interface Db {
  dialect: SqlDialect;
  /** What the operator passes as --sql_source (URL), or the -dir for SQLite. */
  source: string;
  knex: Knex;
}

function track(k: Knex): Knex {
  open.push(k);
  return k;
}

function knexFor(dialect: SqlDialect, source: string): Knex {
  if (dialect === 'postgres') return track(knexFactory({ client: 'pg', connection: source, pool: { min: 0, max: 3 } }));
  if (dialect === 'mysql') return track(knexFactory({ client: 'mysql2', connection: source, pool: { min: 0, max: 3 } }));
  return track(
    knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(source, 'stan.db') },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        afterCreate: (c: { pragma(s: string): unknown }, done: (e: Error | null, c: unknown) => void) => {
          c.pragma('busy_timeout = 5000');
          done(null, c);
        },
      },
    }),
  );
}

const KIND: Record<Exclude<SqlDialect, 'sqlite'>, DbKind> = { postgres: 'postgres', mysql: 'mariadb' };

/** A fresh, empty database of the dialect. */
async function freshDb(dialect: SqlDialect): Promise<Db & { name: string }> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'sqlite-'));
    return { dialect, source: dir, knex: knexFor(dialect, dir), name: dir };
  }
  const t = await testDatabase(KIND[dialect], 'mig');
  return { dialect, source: t.url, knex: knexFor(dialect, t.url), name: t.name };
}

/** Runs a whole script the way a DBA's client would (multi-statement). */
async function applyScript(db: Db, sqlText: string): Promise<void> {
  if (db.dialect === 'postgres') {
    const c = new PgClient({ connectionString: db.source });
    await c.connect();
    try {
      await c.query(sqlText);
    } finally {
      await c.end();
    }
  } else if (db.dialect === 'mysql') {
    const c = await mysql.createConnection({ uri: db.source, multipleStatements: true });
    try {
      await c.query(sqlText);
    } finally {
      await c.end();
    }
  } else {
    const s = new BetterSqlite3(path.join(db.source, 'stan.db'));
    try {
      s.exec(sqlText);
    } finally {
      s.close();
    }
  }
}

type Row = Record<string, unknown>;

async function rows(knex: Knex, sql: string): Promise<Row[]> {
  const r: unknown = await knex.raw(sql);
  const d = knex.client.dialect;
  if (d === 'mysql') return (r as [Row[], unknown])[0]; // mysql2: [rows, fields]
  if (d === 'postgresql') return (r as { rows: Row[] }).rows;
  return r as Row[]; // better-sqlite3: the rows
}

/** Everything the catalog says about our schema, in a stable order. */
async function catalog(db: Db): Promise<Record<string, Row[]>> {
  const k = db.knex;
  if (db.dialect === 'postgres') {
    return {
      columns: await rows(
        k,
        `SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, numeric_precision,
                is_nullable, column_default, is_identity
           FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
      ),
      indexes: await rows(k, `SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`),
      constraints: await rows(
        k,
        `SELECT tc.table_name, tc.constraint_name, tc.constraint_type, kcu.column_name, kcu.ordinal_position
           FROM information_schema.table_constraints tc
           LEFT JOIN information_schema.key_column_usage kcu
             ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
          WHERE tc.table_schema = current_schema() AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
          ORDER BY tc.table_name, tc.constraint_name, kcu.ordinal_position`,
      ),
      sequences: await rows(k, `SELECT sequence_name, data_type FROM information_schema.sequences WHERE sequence_schema = current_schema() ORDER BY sequence_name`),
    };
  }
  if (db.dialect === 'mysql') {
    return {
      tables: await rows(
        k,
        `SELECT table_name AS t, engine AS e, table_collation AS c FROM information_schema.tables
          WHERE table_schema = DATABASE() ORDER BY table_name`,
      ),
      columns: await rows(
        k,
        `SELECT table_name AS t, column_name AS c, ordinal_position AS o, column_type AS ty, is_nullable AS n,
                column_default AS d, extra AS x, character_set_name AS cs, collation_name AS co, column_key AS ck
           FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position`,
      ),
      indexes: await rows(
        k,
        `SELECT table_name AS t, index_name AS i, seq_in_index AS s, column_name AS c, non_unique AS u, index_type AS ty
           FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index`,
      ),
    };
  }
  const master = await rows(k, `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`);
  const out: Record<string, Row[]> = { master };
  for (const t of master.filter((r) => r.type === 'table')) {
    const name = String(t.name);
    out[`${name}.columns`] = await rows(k, `PRAGMA table_info(\`${name}\`)`);
    const idx = await rows(k, `PRAGMA index_list(\`${name}\`)`);
    out[`${name}.indexes`] = idx;
    for (const i of idx) out[`${name}.${String(i.name)}`] = await rows(k, `PRAGMA index_info(\`${String(i.name)}\`)`);
  }
  return out;
}

/** Every shipped migration, and the newest schema version. */
const ALL = MIGRATIONS.map((m) => m.name);
const LATEST = MIGRATIONS[MIGRATIONS.length - 1].version;
/** A test-only migration one version above the shipped ones. */
const FUTURE_VERSION = LATEST + 1;
const FUTURE = `${String(FUTURE_VERSION).padStart(4, '0')}_test_future`;
const SLOW = `${String(FUTURE_VERSION).padStart(4, '0')}_test_slow`;

/** A test-only release that knows one more migration than this one (not shipped). */
function futureMigrations(minServerSchema: number): MigrationDef[] {
  return [
    ...MIGRATIONS,
    {
      name: FUTURE,
      version: FUTURE_VERSION,
      minServerSchema,
      build: (knex) => [
        knex.schema.createTable('stan_test_future', (t) => {
          t.bigInteger('channel_id').notNullable().primary();
        }),
      ],
    },
  ];
}

const TABLE_NAMES = Object.keys(TABLES).sort();

/** Runs migrate() on the SQLite database of `dir` in a child process; resolves what it applied. */
function migrateInChild(dir: string, startAt: number): Promise<{ applied: string[] }> {
  const script = path.join(tmpRoot, 'migrate-child.ts');
  if (!fs.existsSync(script)) {
    fs.writeFileSync(
      script,
      `import knexFactory from ${JSON.stringify(require.resolve('knex'))};
import { migrate } from ${JSON.stringify(path.join(REPO_ROOT, 'src/store/sql/migrator'))};
import { MIGRATIONS } from ${JSON.stringify(path.join(REPO_ROOT, 'migrations'))};
// A slow second migration (~0.5 s of work inside the lock) so that the racers overlap.
const slow = { name: ${JSON.stringify(SLOW)}, version: ${FUTURE_VERSION}, minServerSchema: 1, build: (knex: import('knex').Knex) => [
  knex.schema.raw('CREATE TABLE stan_test_slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000000) SELECT x FROM c'),
] };
const k = knexFactory({ client: 'better-sqlite3', connection: { filename: process.argv[2] as string }, useNullAsDefault: true,
  pool: { min: 1, max: 1, afterCreate: (c: { pragma(s: string): unknown }, done: (e: Error | null, c: unknown) => void) => { c.pragma('busy_timeout = 10000'); done(null, c); } } });
const startAt = Number(process.argv[3]);
setTimeout(() => migrate(k, { migrations: [...MIGRATIONS, slow] }).then((r) => { process.stdout.write(JSON.stringify(r)); return k.destroy(); }, (e: unknown) => { process.stderr.write(String(e)); process.exitCode = 1; return k.destroy(); }), Math.max(0, startAt - Date.now()));
`,
    );
  }
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', script, path.join(dir, 'stan.db')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => {
      if (code !== 0) reject(new Error(`child migrate failed (${code}): ${err}`));
      else resolve(JSON.parse(out) as { applied: string[] });
    });
  });
}

function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

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
      assert.ok(JSON.stringify(a).includes('stan_messages_channel_ts_idx'), 'the catalog sees indexes');
      assert.deepEqual(b, a);
      // The server sees the scripted database as migrated.
      const status = await checkSchema(viaScripts.knex, { dialect, source: viaScripts.source });
      assert.deepEqual(status.applied, MIGRATIONS.map((m) => m.name));
      assert.deepEqual(await pendingMigrations(viaScripts.knex), []);
      // And the comparison is sharp: one extra index is a difference.
      await viaScripts.knex.schema.alterTable('stan_events', (t) => t.index(['kind'], 'stan_events_kind_idx'));
      assert.notDeepEqual(await catalog(viaScripts), a);
    });

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

test('the command in messages never shows the password of --sql_source', () => {
  const cases: Array<[string, string]> = [
    ['postgres://stan:s3cr@t@db.example.com:5432/stan?sslmode=require', 'postgres://stan:<password>@db.example.com:5432/stan?sslmode=require'],
    ['user=stan password=secret dbname=stan sslmode=disable', 'user=stan password=<password> dbname=stan sslmode=disable'],
    ["user=stan password='a b' dbname=x", 'user=stan password=<password> dbname=x'],
    ['stan:p@ss:w@tcp(127.0.0.1:3306)/stan?tls=true', 'stan:<password>@tcp(127.0.0.1:3306)/stan?tls=true'],
    ['mysql://u:pw@h/db?password=pw2', 'mysql://u:<password>@h/db?password=<password>'],
    ['root@tcp(h)/db', 'root@tcp(h)/db'],
    ['host=/tmp dbname=x', 'host=/tmp dbname=x'],
  ];
  for (const [src, want] of cases) assert.equal(redactSource(src), want);
  assert.equal(
    migrateCommand({ dialect: 'postgres', source: 'user=stan password=secret dbname=stan' }),
    'nats-streaming-server migrate --sql_driver postgres --sql_source "user=stan password=<password> dbname=stan"',
  );
  assert.equal(migrateCommand({ dialect: 'sqlite', dir: '/var/lib/stan' }), 'nats-streaming-server migrate -store file -dir "/var/lib/stan"');
});

test('detectReferenceFileStore finds the reference FILE store layout; prepareSchema refuses it', async () => {
  const empty = fs.mkdtempSync(path.join(tmpRoot, 'ref-'));
  assert.deepEqual(detectReferenceFileStore(empty), []);
  assert.deepEqual(detectReferenceFileStore(path.join(empty, 'missing')), []);
  const chanOnly = fs.mkdtempSync(path.join(tmpRoot, 'ref-'));
  fs.mkdirSync(path.join(chanOnly, 'foo'));
  fs.writeFileSync(path.join(chanOnly, 'foo', 'msgs.1.dat'), '');
  assert.deepEqual(detectReferenceFileStore(chanOnly), ['foo/msgs.1.dat']);
  const full = fs.mkdtempSync(path.join(tmpRoot, 'ref-'));
  fs.writeFileSync(path.join(full, 'server.dat'), '');
  fs.writeFileSync(path.join(full, 'clients.dat'), '');
  fs.mkdirSync(path.join(full, 'bar'));
  fs.writeFileSync(path.join(full, 'bar', 'subs.dat'), '');
  assert.deepEqual(detectReferenceFileStore(full).sort(), ['bar/subs.dat', 'clients.dat', 'server.dat']);
  const k = knexFor('sqlite', full);
  await assert.rejects(prepareSchema(k, { dialect: 'sqlite', dir: full, autoMigrate: true }), (e: unknown) => {
    assert.ok(e instanceof ReferenceDataError, String(e));
    assert.match(e.message, /holds the file store of the reference Go nats-streaming-server \(/);
    assert.match(e.message, /use an empty directory/);
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// the command, end to end (the compiled server: test/run-all.sh builds dist/ first)

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('nats-streaming-server migrate', { concurrency: false }, () => {
  test('dist/ holds the compiled command', () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'migrate.js')), 'run npx tsc -p tsconfig.json first');
  });

  for (const dialect of ['postgres', 'mysql'] as const) {
    test(`${dialect}: --dry-run prints SQL and changes nothing; migrate applies; flags before "migrate" work`, async () => {
      const db = await freshDb(dialect);
      const dry = await cli(['migrate', '--dry-run', '--sql_driver', dialect, '--sql_source', db.source]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /create table [`"]stan_messages[`"]/);
      assert.match(dry.stdout, /dry run/);
      assert.deepEqual(await listTables(db.knex), []);

      const run = await cli(['-store', 'sql', '--sql_driver', dialect, '--sql_source', db.source, 'migrate']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /applied migration 0001_initial/);
      assert.match(run.stdout, new RegExp(`now at version ${LATEST}`));
      assert.ok(!run.stdout.includes(passwordOf(db.source)), 'password not printed');
      assert.equal((await checkSchema(db.knex, { dialect, source: db.source })).version, LATEST);

      const again = await cli(['migrate', '--sql_driver', dialect, '--sql_source', db.source]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`up to date \\(version ${LATEST}\\)`));
    });
  }

  test('refusals are one line on stderr, exit 1, no stack trace', async () => {
    const ref = await freshDb('postgres');
    await ref.knex.schema.createTable('serverinfo', (t) => t.string('uniquerow'));
    const cases: Array<{ args: string[]; re: RegExp }> = [
      { args: ['migrate', '--sql_driver', 'postgres', '--sql_source', ref.source], re: /reference Go nats-streaming-server/ },
      { args: ['migrate'], re: /MEMORY store has no schema/ },
      { args: ['migrate', '--sql_driver', 'oracle', '--sql_source', 'x'], re: /unsupported --sql_driver "oracle"/ },
      { args: ['migrate', '--sql_driver', 'postgres', '--sql_source', 'postgres://u:pw@127.0.0.1:1/db?sslmode=disable'], re: /cannot reach the database/ },
      { args: ['migrate', '--bogus'], re: /flag provided but not defined: -bogus/ },
    ];
    const refDir = fs.mkdtempSync(path.join(tmpRoot, 'cliref-'));
    fs.writeFileSync(path.join(refDir, 'server.dat'), '');
    cases.push({ args: ['migrate', '-store', 'file', '-dir', refDir], re: /file store of the reference Go/ });
    for (const c of cases) {
      const r = await cli(c.args);
      assert.equal(r.code, 1, `${c.args.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, c.re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(r.stdout, '', `nothing on stdout (driver or Knex noise): ${r.stdout}`);
    }
    assert.deepEqual(fs.readdirSync(refDir), ['server.dat'], 'no database file created in the reference dir');
  });

  test('FILE store: migrate creates the SQLite schema in -dir', async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'cli-file-'));
    const r = await cli(['migrate', '-store', 'file', '-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const k = knexFor('sqlite', dir);
    assert.equal((await checkSchema(k, { dialect: 'sqlite', dir })).version, LATEST);
  });
});
