/**
 * `--sql_source` parsing: the data source names the reference Go server accepted (through
 * lib/pq and go-sql-driver/mysql) plus URLs, turned into one driver-neutral description
 * (`SqlConnectionConfig`) and from there into `pg` / `mysql2` pool options.
 *
 * PostgreSQL (`--sql_driver postgres`), as lib/pq reads them:
 *   - key/value: `user=stan password=secret dbname=stan host=db port=5432 sslmode=verify-full
 *     sslrootcert=/etc/ca.pem connect_timeout=5`. Values may be single-quoted (`password='a b'`)
 *     and use backslash escapes (`\'`, `\\`, `\ `). Unknown keys are run-time parameters sent to
 *     the server (e.g. `search_path=x`, `application_name=y`), as lib/pq does.
 *   - URL: `postgres://user:pass@host:port/db?sslmode=require&...` (`postgresql://` too); the
 *     user and password are percent-decoded, query keys are the key/value keys above.
 *   - `host=/dir` (or a percent-encoded `/dir` URL host) is a unix socket directory (no TLS on it).
 *   - Defaults: host localhost, port 5432, user = the OS user, dbname = user, and, like lib/pq
 *     (not libpq), `sslmode=require` when no sslmode is given: write `sslmode=disable` for a
 *     server without TLS. `sslmode` is one of disable, require, verify-ca, verify-full (lib/pq
 *     rejects allow/prefer; so do we). `require` with `sslrootcert` verifies the chain like
 *     `verify-ca` (libpq/lib/pq compatibility). `sslcert`/`sslkey` give a client certificate.
 *     `sslrootcert`/`sslcert`/`sslkey` are file paths, or PEM text itself (lib/pq's `sslinline`).
 *   - `connect_timeout` is in seconds (0 = none), per host tried.
 *   - Several hosts, as libpq accepts them: `host=a,b port=5432,5433` (one port applies to every
 *     host; an empty entry is the default) or `postgres://a:5432,b:5433/db`, with
 *     `target_session_attrs` = any (default), read-write, read-only, primary, standby or
 *     prefer-standby, and `load_balance_hosts` = disable (default) or random. node-postgres has
 *     no multi-host support: `pg-multihost.ts` walks the hosts (`hosts`, `targetSessionAttrs`).
 *
 * MySQL / MariaDB (`--sql_driver mysql`), as go-sql-driver/mysql reads them:
 *   - Go DSN: `[user[:password]@][tcp[(host[:port])]|unix[(/path/to.sock)]]/dbname[?k=v&...]`,
 *     e.g. `stan:secret@tcp(db:3306)/stan?tls=true`, `stan@unix(/run/mysqld/mysqld.sock)/stan`,
 *     `stan:secret@/stan` (127.0.0.1:3306). The password runs from the first `:` to the last `@`,
 *     so it may contain `@` and `:` unescaped. Parameter values may be percent-escaped.
 *   - URL: `mysql://user:pass@host:port/db?k=v` (`mariadb://` too), user/password percent-decoded.
 *   - `tls`: `true` (verify chain and host name), `skip-verify` (encrypt, no verification),
 *     `preferred` (encrypt without verification; see `resolvePreferredTls`), `false` (plain).
 *     Named TLS configs registered in Go code cannot exist here and are refused. Our extension
 *     (not in the Go driver): `tls-ca=/path/ca.pem` (CA bundle to verify with; implies
 *     `tls=true` when `tls` is absent) and `tls-cert`/`tls-key` (client certificate). In a Go-form DSN a `/` inside a
 *     parameter value may be written plainly or as `%2F`.
 *   - `timeout` (Go duration such as `5s`, `1m30s`) is the connect timeout; `charset`,
 *     `collation`, `multiStatements`, `loc` map to mysql2; other Go driver parameters are kept in
 *     `options` (and otherwise ignored); unknown keys are system variables, which the Go driver
 *     SETs on each connection: `mysqlSessionVariables()` lists them.
 *
 * Errors are `DataSourceError`s that say what is wrong and show the expected forms; they never
 * contain the password. `redactDataSource()` hides the password of any form for logs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { checkServerIdentity, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { parseGoDuration } from '../../config/units';

export type SqlDriver = 'postgres' | 'mysql';

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
const PG_TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];

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
export class DataSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataSourceError';
  }
}

const PG_FORMS =
  'expected a PostgreSQL data source such as\n' +
  '  "user=stan password=secret dbname=stan host=db.example.com port=5432 sslmode=verify-full sslrootcert=/path/to/ca.pem"\n' +
  '  or "postgres://stan:secret@db.example.com:5432/stan?sslmode=require"';

const MYSQL_FORMS =
  'expected a MySQL data source such as\n' +
  '  "stan:secret@tcp(db.example.com:3306)/stan?tls=true&tls-ca=/path/to/ca.pem",\n' +
  '  "stan:secret@unix(/run/mysqld/mysqld.sock)/stan", "stan:secret@/stan" (127.0.0.1:3306)\n' +
  '  or "mysql://stan:secret@db.example.com:3306/stan?tls=skip-verify"';

function fail(driver: SqlDriver, what: string): never {
  throw new DataSourceError(`invalid --sql_source for --sql_driver ${driver}: ${what}; ${driver === 'postgres' ? PG_FORMS : MYSQL_FORMS}`);
}

/** Parses `source` for `driver` (see the file comment for the accepted forms and defaults). */
export function parseDataSource(driver: SqlDriver, source: string): SqlConnectionConfig {
  if (driver !== 'postgres' && driver !== 'mysql') {
    throw new DataSourceError(`unknown --sql_driver ${JSON.stringify(driver)}: use postgres or mysql`);
  }
  const s = source.trim();
  if (s === '') fail(driver, 'it is empty');
  if (driver === 'postgres') {
    if (/^postgres(ql)?:\/\//i.test(s)) return pgFromParams(parsePgUrl(s));
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) fail(driver, `a ${s.slice(0, s.indexOf(':'))}:// URL is not a PostgreSQL URL`);
    return pgFromParams(parsePgKeyValue(s));
  }
  if (/^(mysql|mariadb):\/\//i.test(s)) return mysqlFromUrl(parseUrl('mysql', s));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) fail(driver, `a ${s.slice(0, s.indexOf(':'))}:// URL is not a MySQL URL`);
  return mysqlFromGoDsn(s);
}

// ---------------------------------------------------------------------------------------------
// URLs (both drivers)

interface ParsedUrl {
  user?: string;
  password?: string;
  host?: string;
  port?: string;
  database?: string;
  params: Array<[string, string]>;
}

function decode(driver: SqlDriver, part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(driver, `bad percent-encoding in the URL's ${what}`);
  }
}

function parseUrl(driver: SqlDriver, s: string): ParsedUrl {
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

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/**
 * A Postgres URL, whose authority may list several `host[:port]` (libpq): WHATWG URLs cannot
 * parse that, so the list is cut out first and handed on as `host=a,b port=p1,p2`.
 */
function parsePgUrl(s: string): ParsedUrl {
  const m = /^(postgres(?:ql)?:\/\/)([^/?#]*)(.*)$/is.exec(s);
  const authority = m?.[2] ?? '';
  const at = authority.lastIndexOf('@');
  const hostPart = authority.slice(at + 1);
  if (m === null || !hostPart.includes(',')) return parseUrl('postgres', s);
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const entry of hostPart.split(',')) {
    const hp = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d*))?$/.exec(entry);
    if (hp === null) fail('postgres', `invalid host entry ${JSON.stringify(entry.slice(0, 60))} in the URL's host list (host or host:port, [IPv6]:port)`);
    let h = hp[1] ?? '';
    if (h.startsWith('[')) h = h.slice(1, -1);
    hosts.push(decode('postgres', h, 'host'));
    ports.push(hp[2] ?? '');
  }
  const p = parseUrl('postgres', `${m[1] ?? ''}${authority.slice(0, at + 1)}multi-host.invalid${m[3] ?? ''}`);
  p.host = hosts.join(',');
  p.port = ports.every((x) => x === '') ? undefined : ports.join(',');
  return p;
}

/** libpq's host/port lists: one port for all hosts, or one per host; empty entries are defaults. */
function pgHostList(hostStr: string, portStr: string): PgHost[] {
  const hosts = hostStr.split(',');
  const ports = portStr.split(',');
  if (ports.length !== 1 && ports.length !== hosts.length) {
    fail('postgres', `${ports.length} ports for ${hosts.length} hosts (give one port for all hosts, or one per host)`);
  }
  return hosts.map((h, i) => {
    const ps = (ports.length === 1 ? ports[0] : ports[i]) ?? '';
    const port = ps === '' ? 5432 : parsePort('postgres', ps);
    if (h.startsWith('/')) return { host: 'localhost', port, socketPath: h };
    return { host: h === '' ? 'localhost' : h, port };
  });
}

/** lib/pq's key/value syntax: `k=v k='quoted v' k=esc\ aped`. */
function parsePgKeyValue(s: string): ParsedUrl {
  const params: Array<[string, string]> = [];
  let i = 0;
  const n = s.length;
  const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
  const looksMysql = /@(tcp|unix)?\(|^[^=\s]*@\//.test(s) ? ' (this looks like a MySQL DSN: use --sql_driver mysql?)' : '';
  while (i < n) {
    while (isSpace(s[i])) i++;
    if (i >= n) break;
    const ks = i;
    while (i < n && s[i] !== '=' && !isSpace(s[i])) i++;
    const key = s.slice(ks, i);
    while (isSpace(s[i])) i++;
    if (s[i] !== '=') {
      // The "key" may be a password typed without password=: name only a safe prefix.
      fail('postgres', `missing "=" after a key (every setting is key=value)${looksMysql}`);
    }
    if (key === '') fail('postgres', `a "=" without a key before it${looksMysql}`);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) fail('postgres', `invalid key name ${JSON.stringify(key.slice(0, 40))}${looksMysql}`);
    i++; // '='
    while (isSpace(s[i])) i++;
    let value = '';
    if (s[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = s[i];
        if (c === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
        } else if (c === "'") {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) fail('postgres', `unterminated quoted value for ${key}`);
      if (i < n && !isSpace(s[i])) fail('postgres', `unexpected text right after the quoted value of ${key}`);
    } else {
      while (i < n && !isSpace(s[i])) {
        if (s[i] === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
        } else {
          value += s[i];
          i++;
        }
      }
    }
    params.push([key, value]);
  }
  if (params.length === 0) fail('postgres', 'no settings found');
  return { params };
}

const PG_SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'];

function parsePort(driver: SqlDriver, v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) fail(driver, `invalid port ${JSON.stringify(v.slice(0, 20))} (1-65535)`);
  return Number(v);
}

function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'postgres';
  }
}

function pgFromParams(p: ParsedUrl): SqlConnectionConfig {
  const kv = new Map<string, string>();
  const set = (k: string, v: string | undefined): void => {
    if (v !== undefined) kv.set(k, v);
  };
  set('user', p.user);
  set('password', p.password);
  set('host', p.host);
  set('port', p.port);
  set('dbname', p.database);
  for (const [k, v] of p.params) kv.set(k, v); // later settings win, as in lib/pq
  const take = (k: string): string | undefined => {
    const v = kv.get(k);
    kv.delete(k);
    return v;
  };
  let host = take('host') ?? '';
  const hostaddr = take('hostaddr');
  if (host === '' && hostaddr !== undefined && hostaddr !== '') host = hostaddr;
  if (hostaddr !== undefined && hostaddr.includes(',')) fail('postgres', 'a hostaddr list is not supported: list the servers in host=a,b');
  const portStr = take('port') ?? '';
  const hostList = pgHostList(host, portStr);
  const port = hostList[0]?.port ?? 5432;
  host = hostList.length > 1 ? (hostList[0]?.socketPath ?? hostList[0]?.host ?? '') : host;
  const tsa = (take('target_session_attrs') ?? 'any').toLowerCase();
  if (!PG_TARGET_SESSION_ATTRS.includes(tsa)) {
    fail('postgres', `unsupported target_session_attrs ${JSON.stringify(tsa.slice(0, 20))}: use ${PG_TARGET_SESSION_ATTRS.join(', ')}`);
  }
  const lbh = (take('load_balance_hosts') ?? 'disable').toLowerCase();
  if (lbh !== 'disable' && lbh !== 'random') fail('postgres', `unsupported load_balance_hosts ${JSON.stringify(lbh.slice(0, 20))}: use disable or random`);
  const user = take('user') || osUser();
  const password = take('password') ?? '';
  const database = take('dbname') || user;
  const sslmode = (take('sslmode') ?? '').toLowerCase();
  const sslrootcert = take('sslrootcert') || undefined;
  const sslcert = take('sslcert') || undefined;
  const sslkey = take('sslkey') || undefined;
  take('sslinline'); // PEM text is recognised by its "-----BEGIN" anyway
  take('sslsni'); // SNI is always sent for host names
  const timeout = take('connect_timeout');
  const cfg: SqlConnectionConfig = { driver: 'postgres', host: host === '' ? 'localhost' : host, port, user, password, database, options: {} };
  if (host.startsWith('/')) {
    cfg.socketPath = host;
    cfg.host = 'localhost';
  }
  if (timeout !== undefined && timeout !== '') {
    if (!/^\d+$/.test(timeout)) fail('postgres', `connect_timeout must be a whole number of seconds, not ${JSON.stringify(timeout.slice(0, 20))}`);
    if (Number(timeout) > 0) cfg.connectTimeoutMs = Number(timeout) * 1000;
  }
  if (sslmode !== '' && !PG_SSL_MODES.includes(sslmode)) {
    fail('postgres', `unsupported sslmode ${JSON.stringify(sslmode.slice(0, 20))}: use disable, require (the default), verify-ca or verify-full`);
  }
  if (sslmode !== 'disable') {
    let mode: SqlTlsMode = sslmode === '' ? 'require' : (sslmode as SqlTlsMode);
    if (mode === 'require' && sslrootcert !== undefined) mode = 'verify-ca'; // libpq/lib/pq rule
    const tls: SqlTlsConfig = { mode };
    if (sslrootcert !== undefined) tls.ca = sslrootcert;
    if (sslcert !== undefined) tls.cert = sslcert;
    if (sslkey !== undefined) tls.key = sslkey;
    if ((tls.cert === undefined) !== (tls.key === undefined)) fail('postgres', 'sslcert and sslkey go together (client certificate and its key)');
    cfg.tls = tls;
  }
  for (const [k, v] of kv) cfg.options[k] = v;
  if (hostList.length > 1) cfg.hosts = hostList;
  if (tsa !== 'any') cfg.targetSessionAttrs = tsa as PgTargetSessionAttrs;
  if (lbh === 'random') cfg.loadBalanceHosts = true;
  return cfg;
}

/** The servers of a Postgres source in the order to try (one entry for a single host). */
export function pgHosts(c: SqlConnectionConfig): PgHost[] {
  if (c.hosts !== undefined) return c.hosts;
  return [c.socketPath !== undefined ? { host: c.host, port: c.port, socketPath: c.socketPath } : { host: c.host, port: c.port }];
}

/** True when connecting needs the host walk of pg-multihost.ts (several hosts or a session kind). */
export function needsHostWalk(c: SqlConnectionConfig): boolean {
  return c.driver === 'postgres' && (c.hosts !== undefined || c.targetSessionAttrs !== undefined);
}

function readPem(what: string, v: string): string {
  if (v.includes('-----BEGIN')) return v;
  try {
    return fs.readFileSync(v, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new DataSourceError(`cannot read the ${what} file ${JSON.stringify(v)} named in --sql_source: ${code}`);
  }
}

/** Backslash-escapes a run-time parameter value for the startup `options` string. */
function pgOptionValue(v: string): string {
  return v.replace(/([\\\s])/g, '\\$1');
}

/**
 * `pg` pool options for a parsed Postgres source. Reads the CA / client certificate files
 * (throws `DataSourceError` when one cannot be read).
 */
export function toPgConfig(c: SqlConnectionConfig): PgConnectionOptions {
  if (c.driver !== 'postgres') throw new DataSourceError('toPgConfig needs a postgres data source');
  const cfg: PgConnectionOptions = {
    host: c.socketPath ?? c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database: c.database,
    ssl: false,
  };
  if (c.connectTimeoutMs !== undefined) cfg.connectionTimeoutMillis = c.connectTimeoutMs;
  const runtime: string[] = [];
  for (const [k, v] of Object.entries(c.options)) {
    if (k === 'application_name') cfg.application_name = v;
    else if (k === 'fallback_application_name') cfg.fallback_application_name = v;
    else if (k === 'options') runtime.unshift(v);
    else runtime.push(`-c ${k}=${pgOptionValue(v)}`);
  }
  if (runtime.length > 0) cfg.options = runtime.join(' ');
  // libpq never uses TLS over a unix socket; neither do we.
  if (c.tls !== undefined && c.socketPath === undefined) cfg.ssl = tlsOptions(c.tls);
  return cfg;
}

function tlsOptions(t: SqlTlsConfig): TlsConnectionOptions {
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
        o.checkServerIdentity = (_host, cert) => checkServerIdentity(name, cert);
      }
      break;
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// MySQL

/** go-sql-driver/mysql parameters we know (everything else is a system variable). */
const MYSQL_DRIVER_PARAMS = new Set([
  'allowAllFiles', 'allowCleartextPasswords', 'allowFallbackToPlaintext', 'allowNativePasswords', 'allowOldPasswords',
  'charset', 'checkConnLiveness', 'clientFoundRows', 'collation', 'columnsWithAlias', 'connectionAttributes',
  'interpolateParams', 'loc', 'timeTruncate', 'maxAllowedPacket', 'multiStatements', 'parseTime', 'readTimeout',
  'rejectReadOnly', 'serverPubKey', 'timeout', 'tls', 'writeTimeout', 'compress',
  // our extension
  'tls-ca', 'tls-cert', 'tls-key',
]);

/** Splits `k=v&k2=v2` (values percent-decoded like Go's url.QueryUnescape). */
function parseMysqlQuery(q: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (q === '') return out;
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) fail('mysql', `parameter ${JSON.stringify(part.slice(0, 40))} is not key=value`);
    const k = part.slice(0, eq);
    let v: string;
    try {
      v = decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return fail('mysql', `bad percent-encoding in the value of ${k}`);
    }
    out.push([k, v]);
  }
  return out;
}

const QUERY_RE = /^[A-Za-z_][\w.-]*=[^&]*(?:&[A-Za-z_][\w.-]*=[^&]*)*$/;

/** go-sql-driver/mysql's DSN: `[user[:password]@][net[(addr)]]/dbname[?params]`. */
function mysqlFromGoDsn(s: string): SqlConnectionConfig {
  // Where the parameters start: the first '?' whose remainder is a k=v list and that has the
  // database slash before it (so '/' may appear unescaped in values such as tls-ca paths).
  let q = -1;
  for (let i = s.indexOf('?'); i >= 0; i = s.indexOf('?', i + 1)) {
    if (QUERY_RE.test(s.slice(i + 1)) && s.lastIndexOf('/', i) >= 0) {
      q = i;
      break;
    }
  }
  const prefix = q >= 0 ? s.slice(0, q) : s;
  const query = q >= 0 ? s.slice(q + 1) : '';
  const slash = prefix.lastIndexOf('/');
  if (slash < 0) {
    const looksPg = /^\s*\w+\s*=/.test(s) ? ' (this looks like a PostgreSQL key=value DSN: use --sql_driver postgres?)' : '';
    fail('mysql', `missing the "/" before the database name${looksPg}`);
  }
  if (prefix.slice(slash + 1).includes('?')) fail('mysql', 'the parameters after "?" must be key=value pairs joined by "&"');
  let dbname: string;
  try {
    dbname = decodeURIComponent(prefix.slice(slash + 1));
  } catch {
    return fail('mysql', 'bad percent-encoding in the database name');
  }
  const head = prefix.slice(0, slash);
  const at = head.lastIndexOf('@');
  let user = '';
  let password = '';
  let net = head;
  if (at >= 0) {
    const userinfo = head.slice(0, at);
    net = head.slice(at + 1);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      user = userinfo.slice(0, colon);
      password = userinfo.slice(colon + 1);
    } else {
      user = userinfo;
    }
  }
  let proto = 'tcp';
  let addr = '';
  if (net !== '') {
    const m = /^([A-Za-z0-9]+)(?:\((.*)\))?$/.exec(net);
    if (m === null) fail('mysql', 'the network part must be tcp(host:port) or unix(/path/to.sock)');
    proto = (m[1] ?? '').toLowerCase();
    addr = m[2] ?? '';
  }
  const cfg: SqlConnectionConfig = { driver: 'mysql', host: '127.0.0.1', port: 3306, user, password, database: dbname, options: {} };
  if (proto === 'unix') {
    cfg.socketPath = addr === '' ? '/tmp/mysql.sock' : addr;
    cfg.host = 'localhost';
  } else if (proto === 'tcp' || proto === 'tcp4' || proto === 'tcp6') {
    if (addr !== '') {
      const hp = splitHostPort(addr);
      if (hp.host !== '') cfg.host = hp.host;
      if (hp.port !== undefined) cfg.port = parsePort('mysql', hp.port);
    }
  } else {
    fail('mysql', `unsupported network ${JSON.stringify(proto.slice(0, 20))}: use tcp or unix`);
  }
  return applyMysqlParams(cfg, parseMysqlQuery(query));
}

function splitHostPort(addr: string): { host: string; port?: string } {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0) fail('mysql', 'unterminated [IPv6] address');
    const rest = addr.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) fail('mysql', 'bad text after the [IPv6] address');
    return { host: addr.slice(1, end), port: rest === '' ? undefined : rest.slice(1) };
  }
  const colons = addr.split(':').length - 1;
  if (colons === 0) return { host: addr };
  if (colons > 1) return { host: addr }; // bare IPv6 without port
  const i = addr.indexOf(':');
  return { host: addr.slice(0, i), port: addr.slice(i + 1) };
}

function mysqlFromUrl(p: ParsedUrl): SqlConnectionConfig {
  const cfg: SqlConnectionConfig = {
    driver: 'mysql',
    host: p.host ?? '127.0.0.1',
    port: p.port === undefined ? 3306 : parsePort('mysql', p.port),
    user: p.user ?? '',
    password: p.password ?? '',
    database: p.database ?? '',
    options: {},
  };
  const params = p.params.filter(([k, v]) => {
    if (k === 'socket') {
      cfg.socketPath = v;
      cfg.host = 'localhost';
      return false;
    }
    return true;
  });
  return applyMysqlParams(cfg, params);
}

/** Go's time.ParseDuration, in milliseconds (undefined when invalid or negative). */
function goDurationMs(v: string): number | undefined {
  try {
    const ms = parseGoDuration(v);
    return ms >= 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

function goBool(v: string): boolean | undefined {
  const l = v.toLowerCase();
  if (l === '1' || l === 'true' || l === 't') return true;
  if (l === '0' || l === 'false' || l === 'f') return false;
  return undefined;
}

function applyMysqlParams(cfg: SqlConnectionConfig, params: Array<[string, string]>): SqlConnectionConfig {
  let tlsParam: string | undefined;
  const ext: { ca?: string; cert?: string; key?: string } = {};
  for (const [k, v] of params) {
    switch (k) {
      case 'tls':
        tlsParam = v;
        break;
      case 'tls-ca':
        ext.ca = v;
        break;
      case 'tls-cert':
        ext.cert = v;
        break;
      case 'tls-key':
        ext.key = v;
        break;
      case 'timeout': {
        const ms = goDurationMs(v);
        if (ms === undefined) fail('mysql', `timeout must be a Go duration such as 5s or 1m30s, not ${JSON.stringify(v.slice(0, 20))}`);
        if (ms > 0) cfg.connectTimeoutMs = Math.ceil(ms);
        else delete cfg.connectTimeoutMs;
        cfg.options[k] = v;
        break;
      }
      default:
        cfg.options[k] = v;
    }
  }
  let mode: SqlTlsMode | undefined;
  if (tlsParam === undefined) {
    mode = ext.ca !== undefined || ext.cert !== undefined ? 'verify-full' : undefined;
  } else {
    const b = goBool(tlsParam);
    const l = tlsParam.toLowerCase();
    if (b === true) mode = 'verify-full';
    else if (b === false || l === '') mode = undefined;
    else if (l === 'skip-verify') mode = 'skip-verify';
    else if (l === 'preferred') mode = 'preferred';
    else {
      fail(
        'mysql',
        `tls=${JSON.stringify(tlsParam.slice(0, 40))}: named TLS configurations are registered in Go code and cannot exist here; ` +
          'use tls=true (verify) with tls-ca=/path/to/ca.pem (and tls-cert=, tls-key= for a client certificate), tls=skip-verify or tls=preferred',
      );
    }
  }
  if (mode === undefined) {
    if (ext.ca !== undefined || ext.cert !== undefined || ext.key !== undefined) {
      fail('mysql', 'tls-ca/tls-cert/tls-key were given with tls=false');
    }
    return cfg;
  }
  if ((ext.cert === undefined) !== (ext.key === undefined)) fail('mysql', 'tls-cert and tls-key go together (client certificate and its key)');
  const tls: SqlTlsConfig = { mode };
  if (ext.ca !== undefined) tls.ca = ext.ca;
  if (ext.cert !== undefined) tls.cert = ext.cert;
  if (ext.key !== undefined) tls.key = ext.key;
  cfg.tls = tls;
  return cfg;
}

/**
 * `mysql2` pool options for a parsed MySQL source. Reads the CA / client certificate files.
 * `tls=true` verifies the chain (against `tls-ca`, else the system roots) and the host name;
 * `skip-verify` and `preferred` encrypt without verifying (mysql2 cannot fall back to plain
 * text: run `resolvePreferredTls()` first to get Go's `preferred` behaviour).
 */
export function toMysqlConfig(c: SqlConnectionConfig): MysqlConnectionOptions {
  if (c.driver !== 'mysql') throw new DataSourceError('toMysqlConfig needs a mysql data source');
  const cfg: MysqlConnectionOptions = { user: c.user, password: c.password };
  if (c.database !== '') cfg.database = c.database;
  if (c.socketPath !== undefined) cfg.socketPath = c.socketPath;
  else {
    cfg.host = c.host;
    cfg.port = c.port;
  }
  if (c.connectTimeoutMs !== undefined) cfg.connectTimeout = c.connectTimeoutMs;
  const o = c.options;
  const collation = o.collation;
  const charset = o.charset?.split(',')[0];
  if (collation !== undefined && collation !== '') cfg.charset = collation.toUpperCase();
  else if (charset !== undefined && charset !== '') cfg.charset = charset.toUpperCase();
  if (o.multiStatements !== undefined) cfg.multipleStatements = goBool(o.multiStatements) === true;
  if (o.loc !== undefined) {
    if (o.loc === 'UTC') cfg.timezone = 'Z';
    else if (o.loc === 'Local') cfg.timezone = 'local';
    // other zones: Go-only time conversion; we never store DATETIME values
  }
  if (c.tls !== undefined) {
    if (c.tls.serverName !== undefined) throw new DataSourceError('a TLS server name other than the host is not supported with MySQL');
    const t = tlsOptions(c.tls);
    const ssl: MysqlTlsOptions = { rejectUnauthorized: t.rejectUnauthorized === true, verifyIdentity: c.tls.mode === 'verify-full' };
    if (typeof t.ca === 'string') ssl.ca = t.ca;
    if (typeof t.cert === 'string') ssl.cert = t.cert;
    if (typeof t.key === 'string') ssl.key = t.key;
    cfg.ssl = ssl;
  }
  return cfg;
}

/** The system variables of a MySQL source (unknown parameters), which Go SETs on connect. */
export function mysqlSessionVariables(c: SqlConnectionConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.options)) if (!MYSQL_DRIVER_PARAMS.has(k)) out[k] = v;
  return out;
}

/**
 * Go's `tls=preferred`: TLS (unverified) if the server offers it, plain text otherwise. Reads
 * the server's greeting over TCP to decide; other modes and unix sockets are returned as is.
 */
export async function resolvePreferredTls(c: SqlConnectionConfig, timeoutMs = 5000): Promise<SqlConnectionConfig> {
  if (c.tls?.mode !== 'preferred' || c.socketPath !== undefined) return c;
  const net = await import('node:net');
  const offersTls = await new Promise<boolean>((resolve, reject) => {
    const sock = net.connect({ host: c.host, port: c.port });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => done(new Error(`no greeting from ${c.host}:${c.port} within ${timeoutMs} ms`)), timeoutMs);
    function done(err: Error | undefined, v = false): void {
      clearTimeout(t);
      sock.destroy();
      if (err) reject(err);
      else resolve(v);
    }
    sock.on('error', (e) => done(e));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4) return;
      const len = buf.readUIntLE(0, 3);
      if (buf.length < 4 + len) return;
      const p = buf.subarray(4, 4 + len);
      if (p[0] === 0xff) return done(new Error('the server refused the connection'));
      const nul = p.indexOf(0, 1);
      const capOff = nul + 1 + 4 + 8 + 1;
      if (nul < 0 || p.length < capOff + 2) return done(new Error('unexpected server greeting'));
      done(undefined, (p.readUInt16LE(capOff) & 0x0800) !== 0);
    });
  });
  const copy: SqlConnectionConfig = { ...c, options: { ...c.options } };
  if (offersTls) copy.tls = { ...c.tls, mode: 'skip-verify' };
  else delete copy.tls;
  return copy;
}

// ---------------------------------------------------------------------------------------------
// redaction

const MASK = '***';

/** `source` with its password replaced by `***` (any form, either driver), for logs and errors. */
export function redactDataSource(source: string): string {
  let s = source;
  const url = /^([a-z][a-z0-9+.-]*:\/\/)([\s\S]*)$/i.exec(s);
  if (url !== null) {
    const scheme = url[1] ?? '';
    let rest = url[2] ?? '';
    const at = rest.lastIndexOf('@'); // over-redacts when a parameter holds '@': never leaks
    if (at >= 0) {
      const colon = rest.slice(0, at).indexOf(':');
      if (colon >= 0) rest = `${rest.slice(0, colon + 1)}${MASK}${rest.slice(at)}`;
    }
    rest = rest.replace(/([?&](?:password|sslpassword)=)[^&#]*/gi, `$1${MASK}`);
    return scheme + rest;
  }
  // key/value (lib/pq): password=..., quoted or escaped
  s = s.replace(/(^|\s)((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\[\s\S])*'?|(?:\\[\s\S]|[^\s\\])*)/gi, `$1$2${MASK}`);
  // Go MySQL DSN: user:password@net(addr)/db — the password ends at the last '@'.
  const colon = s.indexOf(':');
  const at = s.lastIndexOf('@');
  if (colon >= 0 && at > colon && /^[^\s=]*$/.test(s.slice(0, colon))) {
    s = `${s.slice(0, colon + 1)}${MASK}${s.slice(at)}`;
  }
  return s;
}
