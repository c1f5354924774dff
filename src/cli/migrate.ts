/**
 * `nats-streaming-server migrate [--dry-run] <store flags>`: applies the pending schema
 * migrations of the SQL store (or prints their SQL with --dry-run, changing nothing).
 *
 *   nats-streaming-server migrate --sql_driver postgres --sql_source "postgres://u:pw@h/db"
 *   nats-streaming-server migrate --dry-run -store sql --sql_driver mysql --sql_source "u:pw@tcp(h:3306)/db"
 *   nats-streaming-server migrate -store file -dir /var/lib/stan
 *   nats-streaming-server -c stan.conf migrate          (flags before `migrate` work too)
 *
 * The store flags are the server's own (`-store`, `--sql_driver`, `--sql_source`, `-dir`,
 * `-c`/`-sc` configuration files with an `sql_options {}` block), so the command a DBA runs
 * is the server's command line with `migrate` added.
 */
import { ConfigError } from '../config/errors';
import { loadOptions } from '../config/load';
import { FLAGS } from '../config/flags';
import { FlagError, parseGoFlags } from '../config/goflags';
import type { ServerOptions } from '../config/options';
import type { DialectAdapter } from '../store/sql/dialect';
import type { SqlDialect } from '../store/sql/migration-types';
import { errorText } from '../errors';

// The store modules (Knex, Umzug, drivers) are loaded only when the command runs, so that
// main.ts importing this file costs the MEMORY store nothing.
type Migrator = typeof import('../store/sql/migrator');
type SchemaCheck = typeof import('../store/sql/schema-check');

export const MIGRATE_USAGE = `Usage: nats-streaming-server migrate [--dry-run] [store options]

Applies the pending schema migrations of the SQL store, or with --dry-run prints the SQL
they would run without changing anything. The store options are the server's:

    -st, --store <string>          SQL, or FILE for the SQLite database in --dir
         --sql_driver <string>     postgres or mysql (implies --store SQL)
         --sql_source <string>     Data source (Go DSN or URL)
         --dir <string>            Directory of the FILE store
    -c, -sc <file>                 Configuration file (its sql_options block)

Run it as a database role allowed to create tables; the server itself may then run with a
role that can only SELECT/INSERT/UPDATE/DELETE. DBAs can apply sql/<dialect>/*.sql instead.
`;

export interface MigrateIO {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIO: MigrateIO = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
};

/**
 * The arguments of the `migrate` subcommand when `argv` invokes it (`migrate ...` or
 * `<flags> migrate ...`: Go flag parsing stops at the first positional), else null.
 */
export function migrateCommandArgs(argv: readonly string[]): string[] | null {
  if (argv[0] === 'migrate') return argv.slice(1);
  let positionals: string[];
  try {
    ({ positionals } = parseGoFlags([...argv], FLAGS));
  } catch (e) {
    if (e instanceof FlagError) return null; // the normal path reports it
    throw e;
  }
  if (positionals[0] !== 'migrate') return null;
  const before = argv.slice(0, argv.length - positionals.length);
  return [...before, ...positionals.slice(1)];
}

interface Target {
  dialect: SqlDialect;
  source?: string;
  dir?: string;
  describe: string;
}

function targetOf(o: ServerOptions, redactSource: (s: string) => string): Target {
  const s = o.streaming;
  const driver = s.sql.driver.toLowerCase();
  if (s.storeType === 'FILE') {
    if (s.filestoreDir === '') throw new ConfigError('migrate: -store file needs -dir');
    return { dialect: 'sqlite', dir: s.filestoreDir, describe: `FILE store in ${s.filestoreDir}` };
  }
  if (s.storeType === 'SQL' || driver !== '' || s.sql.source !== '') {
    if (driver !== 'postgres' && driver !== 'mysql') {
      throw new ConfigError(
        driver === '' ? 'migrate: --sql_driver is required (postgres or mysql)' : `migrate: unsupported --sql_driver ${JSON.stringify(s.sql.driver)}: use postgres or mysql`,
      );
    }
    if (s.sql.source === '') throw new ConfigError('migrate: --sql_source is required');
    return { dialect: driver, source: s.sql.source, describe: `${driver} database ${redactSource(s.sql.source)}` };
  }
  throw new ConfigError(
    'migrate: the MEMORY store has no schema: give --sql_driver and --sql_source (or -store file -dir DIR)',
  );
}

async function openTarget(t: Target): Promise<DialectAdapter> {
  const open = await import('../store/sql/open');
  if (t.dialect === 'sqlite') return open.openSqlite({ dir: t.dir ?? '', sync: true });
  return open.openSql({ driver: t.dialect, source: t.source ?? '', maxOpenConns: 1 });
}

/** One line for the operator: the error's own message, never a stack trace. */
function describeError(err: unknown, t: Target | undefined, m: Migrator | undefined, sc: SchemaCheck | undefined): string {
  if (
    err instanceof ConfigError ||
    (sc !== undefined && err instanceof sc.SchemaError) ||
    (m !== undefined && (err instanceof m.MigrationPermissionError || err instanceof m.MigrationLockTimeoutError))
  ) {
    return err.message;
  }
  const msg = errorText(err);
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  const where = t ? ` (${t.describe})` : '';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
    return `cannot reach the database${where}: ${msg}`;
  }
  if (code === '28P01' || code === 'ER_ACCESS_DENIED_ERROR' || code === '28000') {
    return `the database refused the credentials${where}: ${msg}`;
  }
  return `migrate failed${where}: ${msg.split('\n')[0] ?? msg}`;
}

/** Runs the command; resolves the exit code. */
export async function runMigrateCommand(args: readonly string[], io: MigrateIO = defaultIO): Promise<number> {
  let dryRun = false;
  const rest: string[] = [];
  for (const a of args) {
    const m = /^--?dry[-_]run(?:=(.*))?$/.exec(a);
    if (m) {
      const v = (m[1] ?? 'true').toLowerCase();
      dryRun = v === 'true' || v === '1' || v === 't';
      continue;
    }
    rest.push(a);
  }
  let target: Target | undefined;
  let adapter: DialectAdapter | undefined;
  let m: Migrator | undefined;
  let sc: SchemaCheck | undefined;
  try {
    m = await import('../store/sql/migrator');
    sc = await import('../store/sql/schema-check');
    const loaded = loadOptions(rest, io.env);
    if (loaded.kind === 'help') {
      io.stdout(MIGRATE_USAGE);
      return 0;
    }
    if (loaded.kind !== 'run') throw new ConfigError('migrate: unexpected option (-v/-sl do not apply to migrate)');
    if (loaded.positionals.length > 0) throw new ConfigError(`migrate: unexpected argument ${JSON.stringify(loaded.positionals[0])}`);
    for (const w of loaded.warnings) io.stderr(`nats-streaming-server: warning: ${w}\n`);
    target = targetOf(loaded.options, sc.redactSource);
    if (target.dir !== undefined) sc.assertNoReferenceFileStore(target.dir);
    adapter = await openTarget(target);
    const knex = adapter.knex;
    await sc.assertNoReferenceTables(knex);
    if (dryRun) {
      io.stdout(`-- dry run on the ${target.describe}: nothing is changed\n`);
      await m.migrate(knex, { dryRun: true, log: (l) => io.stdout(`${l}\n`) });
      return 0;
    }
    const r = await m.migrate(knex, { log: (l) => io.stdout(`${l}\n`) });
    const status = await sc.checkSchema(knex, target);
    for (const w of status.warnings) io.stderr(`nats-streaming-server: warning: ${w}\n`);
    io.stdout(
      r.applied.length === 0
        ? `the schema of the ${target.describe} is up to date (version ${status.version})\n`
        : `the schema of the ${target.describe} is now at version ${status.version}\n`,
    );
    return 0;
  } catch (err) {
    io.stderr(`nats-streaming-server: ${describeError(err, target, m, sc)}\n`);
    return 1;
  } finally {
    if (adapter) await adapter.close().catch(() => undefined);
  }
}
