/**
 * Real database servers for the SQL-store tests: PostgreSQL 15 and MariaDB 10.11 (the Debian
 * packages `postgresql` and `mariadb-server`, installed by test/run-all.sh when missing), each
 * started in a fresh temporary directory on a free loopback port. No Docker, no system service.
 *
 *   - `startPostgres()` / `startMariaDB()` start a private instance (`destroy()` it when done);
 *     `{tls: true}` also generates a CA + server certificate with openssl and enables TLS.
 *   - `sharedPostgres()` / `sharedMariaDB()` give one lazily started instance per test process
 *     (stopped and removed when the process exits); `testDatabase('postgres' | 'mariadb')`
 *     creates a database with a unique name on it, so every test gets its own database and
 *     many test files can run in parallel without starting dozens of servers. `stop()`,
 *     `kill()` and `restart()` on a shared instance affect every test of the process: tests
 *     that restart the database under concurrent tests should use a private instance.
 *
 * Each instance has an admin role with a password (a superuser on Postgres, ALL PRIVILEGES
 * WITH GRANT OPTION on MariaDB), a first database, `createDatabase()`, and
 * `createRestrictedRole()` for a role that can only SELECT/INSERT/UPDATE/DELETE (no DDL).
 *
 * Postgres refuses to run as root: as root, initdb and postgres run as the `postgres` OS user
 * (spawn's uid/gid, the same as `runuser -u postgres --`); MariaDB runs with `--user=root`.
 * Server output goes to `<dir>/server.log` (shown in start errors: see `logTail()`).
 * Binaries: $PG_BIN_DIR (else the newest /usr/lib/postgresql/<v>/bin), $MARIADB_BIN_DIR (else
 * PATH, /usr/sbin, /usr/bin).
 *
 * Files: db-instance.ts (interface, exit registry, common life cycle), db-postgres.ts,
 * db-mariadb.ts, db-tls.ts (test certificates), db-util.ts; this module starts and shares the
 * instances and re-exports what the tests use.
 */
import { PgInstance } from './db-postgres';
import { MariaInstance } from './db-mariadb';
import type { DbInstance, DbKind, DbStartOptions } from './db-instance';
import { uniqueName } from './db-util';

export { BaseInstance, type DbInstance, type DbKind, type DbStartOptions, type TlsFiles, type TlsStartOptions } from './db-instance';
export { pgBinDir, PgInstance } from './db-postgres';
export { MARIA_COMMON, mariaBins, MariaInstance } from './db-mariadb';
export { generateTestCerts } from './db-tls';
export { isRoot, lookupUser, run, uniqueName, type OsUser } from './db-util';

// ---------------------------------------------------------------------------------------------
// entry points

export function startPostgres(opts: DbStartOptions = {}): Promise<PgInstance> {
  return PgInstance.start(opts);
}

export function startMariaDB(opts: DbStartOptions = {}): Promise<MariaInstance> {
  return MariaInstance.start(opts);
}

let sharedPg: Promise<PgInstance> | undefined;
let sharedMaria: Promise<MariaInstance> | undefined;

/** The test process's Postgres (started on first use, stopped when the process exits). */
export function sharedPostgres(): Promise<PgInstance> {
  if (sharedPg === undefined) {
    sharedPg = startPostgres();
    sharedPg.catch(() => {
      sharedPg = undefined;
    });
  }
  return sharedPg;
}

/** The test process's MariaDB (started on first use, stopped when the process exits). */
export function sharedMariaDB(): Promise<MariaInstance> {
  if (sharedMaria === undefined) {
    sharedMaria = startMariaDB();
    sharedMaria.catch(() => {
      sharedMaria = undefined;
    });
  }
  return sharedMaria;
}

export function sharedDb(kind: DbKind): Promise<DbInstance> {
  return kind === 'postgres' ? sharedPostgres() : sharedMariaDB();
}

export interface TestDatabase {
  instance: DbInstance;
  /** Database name (unique in this instance). */
  name: string;
  /** URL as the admin role (Postgres: `?sslmode=disable`). */
  url: string;
}

/** A fresh database with a unique name on the shared instance of `kind`. */
export async function testDatabase(kind: DbKind, prefix = 't'): Promise<TestDatabase> {
  const instance = await sharedDb(kind);
  const name = uniqueName(prefix);
  const url = await instance.createDatabase(name);
  return { instance, name, url };
}
