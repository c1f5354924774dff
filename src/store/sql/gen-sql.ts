/**
 * Writes `sql/<dialect>/<migration>.sql`, the plain-SQL equivalent of each migration for
 * DBAs, from the same Knex schema builders the migrator runs, so the two cannot drift:
 *
 *     npx tsx src/store/sql/gen-sql.ts          # (re)write every script
 *     npx tsx src/store/sql/gen-sql.ts --check  # exit 1 if a committed script is stale
 *
 * test/int/sql-migrations.int.test.ts checks both that the committed scripts equal this
 * output and that applying them gives the catalog the migrations give.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { PACKAGE_ROOT } from '../../paths';
import { MIGRATIONS } from '../../../migrations';
import { MigrationDef, SqlDialect, SQL_DIALECTS } from './migration-types';
import { builderStatements, migrationsTableBuilder, recordMigrationQuery } from './migrator';
import { errorText } from '../../errors';

const CLIENT: Record<SqlDialect, string> = { postgres: 'pg', mysql: 'mysql2', sqlite: 'better-sqlite3' };
const TITLE: Record<SqlDialect, string> = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB', sqlite: 'SQLite' };
const APPLY: Record<SqlDialect, string> = {
  postgres: 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f',
  mysql: 'mysql --database=DBNAME <',
  sqlite: 'sqlite3 DIR/stan.db <',
};

/** A Knex that only compiles SQL (it never connects). */
export function offlineKnex(dialect: SqlDialect): Knex {
  return knexFactory({ client: CLIENT[dialect], useNullAsDefault: true });
}

/** The text of `sql/<dialect>/<m.name>.sql`. */
export async function renderSqlScript(
  dialect: SqlDialect,
  m: MigrationDef,
  migrations: readonly MigrationDef[] = MIGRATIONS,
): Promise<string> {
  const knex = offlineKnex(dialect);
  try {
    const first = migrations[0]?.name === m.name;
    const out: string[] = [
      `-- nats-streaming-server (TypeScript) schema migration ${m.name}, ${TITLE[dialect]}.`,
      `-- Generated from migrations/${m.name}.ts by src/store/sql/gen-sql.ts: do not edit.`,
      `-- Apply the scripts in order, each once, as a role allowed to create tables:`,
      `--   ${APPLY[dialect]} sql/${dialect}/${m.name}.sql`,
      `-- or let the server do it: nats-streaming-server migrate (see migrations/README.md).`,
    ];
    if (dialect === 'mysql') {
      out.push('-- MySQL commits each CREATE implicitly: if a statement fails, fix the cause and run the rest.');
    }
    out.push('');
    if (dialect !== 'mysql') out.push('BEGIN;', '');
    const stmt = (s: string): void => {
      out.push(`${s.trimEnd().replace(/;$/, '')};`, '');
    };
    if (first) {
      out.push('-- the table of applied migrations (Umzug storage)');
      for (const s of await builderStatements(migrationsTableBuilder(knex, dialect))) stmt(s);
    }
    for (const b of m.build(knex, dialect)) for (const s of await builderStatements(b)) stmt(s);
    out.push(`-- record the migration: the server checks this table at start-up`);
    stmt(recordMigrationQuery(knex, dialect, m).toString());
    if (dialect !== 'mysql') out.push('COMMIT;', '');
    return out.join('\n');
  } finally {
    await knex.destroy();
  }
}

export function scriptPath(root: string, dialect: SqlDialect, m: MigrationDef): string {
  return path.join(root, 'sql', dialect, `${m.name}.sql`);
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const root = PACKAGE_ROOT;
  let stale = 0;
  for (const dialect of SQL_DIALECTS) {
    for (const m of MIGRATIONS) {
      const file = scriptPath(root, dialect, m);
      const text = await renderSqlScript(dialect, m);
      const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
      if (current === text) continue;
      if (check) {
        process.stderr.write(`stale: ${path.relative(root, file)}\n`);
        stale++;
      } else {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, text);
        process.stdout.write(`wrote ${path.relative(root, file)}\n`);
      }
    }
  }
  if (stale > 0) {
    process.stderr.write('run: npx tsx src/store/sql/gen-sql.ts\n');
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${errorText(err)}\n`);
    process.exitCode = 1;
  });
}
