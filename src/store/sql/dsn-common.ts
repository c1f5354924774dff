/**
 * What both `--sql_source` parsers share (dsn.ts: PostgreSQL and the entry point,
 * dsn-mysql.ts: MySQL/MariaDB): the driver-neutral connection description, the error type,
 * URL parsing, ports, PEM files and TLS options.
 */
import * as fs from 'node:fs';
import type { DialectName } from './dialect/types';
// Types only: node:tls (2.5-4 ms to load) is required when a server name is verified, so
// that a FILE or PostgreSQL start-up, which parses sources here, does not load it for nothing.
import type * as Tls from 'node:tls';
type TlsConnectionOptions = Tls.ConnectionOptions;
import { StanServerError } from '../../errors';

/** The server databases (`--sql_driver`): the dialects other than SQLite. */
export type SqlDriver = Exclude<DialectName, 'sqlite'>;

export type SqlTlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full' | 'skip-verify' | 'preferred';

export interface SqlTlsConfig {
  /**
   * - `require`, `skip-verify`: encrypted, certificate not verified;
   * - `verify-ca`: chain verified against `ca` (or the system roots), host name not checked;
   * - `verify-full`: chain and host name (`serverName`, else the host) verified;
   * - `preferred` (MySQL): encrypted without verification when the server offers TLS.
   * `disable` never appears here: no TLS is `tls: undefined`.
   */
  mode: SqlTlsMode;
  /** CA bundle: a file path (or inline PEM text). */
  ca?: string;
  /** Client certificate: a file path (or inline PEM text). */
  cert?: string;
  /** Client key: a file path (or inline PEM text). */
  key?: string;
  /**
   * Name to verify the server certificate against instead of `host` (verify-full). No DSN form
   * sets it; Postgres only (mysql2 always checks the host it connects to).
   */
  serverName?: string;
}

export interface SqlConnectionConfig {
  driver: SqlDriver;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Postgres: the directory holding `.s.PGSQL.<port>`; MySQL: the socket file. */
  socketPath?: string;
  tls?: SqlTlsConfig;
  /** Every other parameter of the source (Postgres run-time parameters, MySQL driver params). */
  options: Record<string, string>;
  connectTimeoutMs?: number;
  /**
   * Postgres with several hosts: all of them in the order to try (the first is also `host`/
   * `port`/`socketPath` above). Absent with a single host.
   */
  hosts?: PgHost[];
  /** Postgres `target_session_attrs` other than `any`. */
  targetSessionAttrs?: PgTargetSessionAttrs;
  /** Postgres `load_balance_hosts=random`: try the hosts in a random order. */
  loadBalanceHosts?: boolean;
}

/** One PostgreSQL server of a multi-host source. */
export interface PgHost {
  host: string;
  port: number;
  /** A unix socket directory (the host was an absolute path). */
  socketPath?: string;
}

/** The session kinds libpq's `target_session_attrs` selects (`any` is the default: not stored). */
export type PgTargetSessionAttrs = 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';

/**
 * What `toPgConfig` returns: assignable both to `pg.PoolConfig` and to Knex's pg connection
 * config (a plain `pg.PoolConfig` is not, because of its `types` member).
 */
export interface PgConnectionOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: false | TlsConnectionOptions;
  connectionTimeoutMillis?: number;
  application_name?: string;
  fallback_application_name?: string;
  /** Startup `options` (`-c name=value ...`): the source's run-time parameters. */
  options?: string;
}

export interface MysqlTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  /** mysql2: also check the host name (Go's `tls=true`). */
  verifyIdentity: boolean;
}

/** What `toMysqlConfig` returns: assignable to `mysql2.PoolOptions` and to Knex's mysql2 config. */
export interface MysqlConnectionOptions {
  host?: string;
  port?: number;
  socketPath?: string;
  user: string;
  password: string;
  database?: string;
  connectTimeout?: number;
  charset?: string;
  multipleStatements?: boolean;
  timezone?: string;
  ssl?: MysqlTlsOptions;
}

/** A `--sql_source` that cannot be used. The message never contains the password. */
export class DataSourceError extends StanServerError {
  override readonly kind = 'data-source' as const;
  constructor(message: string) {
    super(message);
    this.name = 'DataSourceError';
  }
}

export const PG_FORMS =
  'expected a PostgreSQL data source such as\n' +
  '  "user=stan password=secret dbname=stan host=db.example.com port=5432 sslmode=verify-full sslrootcert=/path/to/ca.pem"\n' +
  '  or "postgres://stan:secret@db.example.com:5432/stan?sslmode=require"';

export const MYSQL_FORMS =
  'expected a MySQL data source such as\n' +
  '  "stan:secret@tcp(db.example.com:3306)/stan?tls=true&tls-ca=/path/to/ca.pem",\n' +
  '  "stan:secret@unix(/run/mysqld/mysqld.sock)/stan", "stan:secret@/stan" (127.0.0.1:3306)\n' +
  '  or "mysql://stan:secret@db.example.com:3306/stan?tls=skip-verify"';

export function fail(driver: SqlDriver, what: string): never {
  throw new DataSourceError(`invalid --sql_source for --sql_driver ${driver}: ${what}; ${driver === 'postgres' ? PG_FORMS : MYSQL_FORMS}`);
}

// URLs (both drivers)

export interface ParsedUrl {
  user?: string;
  password?: string;
  host?: string;
  port?: string;
  database?: string;
  params: Array<[string, string]>;
}

export function decode(driver: SqlDriver, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(driver, `bad percent-encoding in the URL's ${what}`);
  }
}

export function parseUrl(driver: SqlDriver, s: string): ParsedUrl {
  // WHATWG URLs refuse user info without a host (`mysql://u@/db`): parse with a placeholder.
  const EMPTY_HOST = 'empty-host.invalid';
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)(?=[/?#]|$)/i.exec(s);
  const text = m !== null ? `${m[1] ?? ''}${m[2] ?? ''}${EMPTY_HOST}${s.slice(m[0].length)}` : s;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    // Never echo the URL: it holds the password.
    return fail(driver, 'the URL cannot be parsed (percent-encode special characters such as @ : / ? # in the user name and password)');
  }
  if (u.hash !== '') fail(driver, 'the URL has a #fragment (percent-encode # in the password as %23)');
  const out: ParsedUrl = { params: [] };
  if (u.username !== '') out.user = decode(driver, u.username, 'user name');
  if (u.password !== '') out.password = decode(driver, u.password, 'password');
  let host = m !== null ? '' : u.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host !== '') out.host = decode(driver, host, 'host');
  if (u.port !== '') out.port = u.port;
  const p = u.pathname.replace(/^\//, '');
  if (p.includes('/')) fail(driver, 'the URL path must be just the database name');
  if (p !== '') out.database = decode(driver, p, 'database name');
  for (const [k, v] of u.searchParams) out.params.push([k, v]);
  return out;
}

export function parsePort(driver: SqlDriver, v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) fail(driver, `invalid port ${JSON.stringify(v.slice(0, 20))} (1-65535)`);
  return Number(v);
}

export function readPem(what: string, v: string): string {
  if (v.includes('-----BEGIN')) return v;
  try {
    return fs.readFileSync(v, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new DataSourceError(`cannot read the ${what} file ${JSON.stringify(v)} named in --sql_source: ${code}`);
  }
}

export function tlsOptions(t: SqlTlsConfig): TlsConnectionOptions {
  const o: TlsConnectionOptions = {};
  if (t.ca !== undefined) o.ca = readPem('CA certificate', t.ca);
  if (t.cert !== undefined) o.cert = readPem('client certificate', t.cert);
  if (t.key !== undefined) o.key = readPem('client key', t.key);
  switch (t.mode) {
    case 'disable':
    case 'require':
    case 'skip-verify':
    case 'preferred':
      o.rejectUnauthorized = false;
      break;
    case 'verify-ca':
      o.rejectUnauthorized = true;
      o.checkServerIdentity = () => undefined;
      break;
    case 'verify-full':
      o.rejectUnauthorized = true;
      if (t.serverName !== undefined) {
        const name = t.serverName;
        o.checkServerIdentity = (_host, cert) => (require('node:tls') as typeof Tls).checkServerIdentity(name, cert);
      }
      break;
  }
  return o;
}
