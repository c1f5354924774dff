/**
 * Shared set-up of the schema migration tests (test/int/sql-migrations*.int.test.ts): fresh
 * databases of each dialect, scripts applied the way a DBA's client would, the catalog of our
 * schema, a test-only future migration, and a migrator racing in a child process.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import BetterSqlite3 from 'better-sqlite3';
import { testDatabase, type DbKind } from './db';
import { REPO_ROOT } from './proc';
import { MIGRATIONS } from '../../migrations';
import type { MigrationDef, SqlDialect } from '../../src/store/sql/migration-types';
import { TABLES } from '../../src/store/sql/schema';

/** Scratch directory of the test file (SQLite databases, the child script). */
export const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-migr-'));
const open: Knex[] = [];

/** Closes every connection pool made here and removes tmpRoot: the test file's `after`. */
export async function cleanupMigrationTests(): Promise<void> {
  await Promise.all(open.map((k) => k.destroy().catch(() => undefined)));
  fs.rmSync(tmpRoot, { recursive: true, force: true });
}

export interface Db {
  dialect: SqlDialect;
  /** What the operator passes as --sql_source (URL), or the -dir for SQLite. */
  source: string;
  knex: Knex;
}

function track(k: Knex): Knex {
  open.push(k);
  return k;
}

export function knexFor(dialect: SqlDialect, source: string): Knex {
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

export const KIND: Record<Exclude<SqlDialect, 'sqlite'>, DbKind> = { postgres: 'postgres', mysql: 'mariadb' };

/** A fresh, empty database of the dialect. */
export async function freshDb(dialect: SqlDialect): Promise<Db & { name: string }> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'sqlite-'));
    return { dialect, source: dir, knex: knexFor(dialect, dir), name: dir };
  }
  const t = await testDatabase(KIND[dialect], 'mig');
  return { dialect, source: t.url, knex: knexFor(dialect, t.url), name: t.name };
}

/** Runs a whole script the way a DBA's client would (multi-statement). */
export async function applyScript(db: Db, sqlText: string): Promise<void> {
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

export type Row = Record<string, unknown>;

export async function rows(knex: Knex, sql: string): Promise<Row[]> {
  const r: unknown = await knex.raw(sql);
  const d = knex.client.dialect;
  if (d === 'mysql') return (r as [Row[], unknown])[0]; // mysql2: [rows, fields]
  if (d === 'postgresql') return (r as { rows: Row[] }).rows;
  return r as Row[]; // better-sqlite3: the rows
}

/** Everything the catalog says about our schema, in a stable order. */
export async function catalog(db: Db): Promise<Record<string, Row[]>> {
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
export const ALL = MIGRATIONS.map((m) => m.name);
export const LATEST = MIGRATIONS[MIGRATIONS.length - 1].version;
/** A test-only migration one version above the shipped ones. */
export const FUTURE_VERSION = LATEST + 1;
export const FUTURE = `${String(FUTURE_VERSION).padStart(4, '0')}_test_future`;
export const SLOW = `${String(FUTURE_VERSION).padStart(4, '0')}_test_slow`;

/** A test-only release that knows one more migration than this one (not shipped). */
export function futureMigrations(minServerSchema: number): MigrationDef[] {
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

export const TABLE_NAMES = Object.keys(TABLES).sort();

/** Runs migrate() on the SQLite database of `dir` in a child process; resolves what it applied. */
export function migrateInChild(dir: string, startAt: number): Promise<{ applied: string[] }> {
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

export function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}
