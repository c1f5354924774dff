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
import * as os from 'node:os';
import { DataSourceError, decode, fail, parsePort, parseUrl, tlsOptions, type ParsedUrl, type PgConnectionOptions, type PgHost, type PgTargetSessionAttrs, type SqlConnectionConfig, type SqlDriver, type SqlTlsConfig, type SqlTlsMode } from './dsn-common';
import { mysqlFromGoDsn, mysqlFromUrl } from './dsn-mysql';

export { DataSourceError, type PgHost, type PgTargetSessionAttrs, type MysqlConnectionOptions, type MysqlTlsOptions, type PgConnectionOptions, type SqlConnectionConfig, type SqlDriver, type SqlTlsConfig, type SqlTlsMode } from './dsn-common';
export { mysqlSessionVariables, resolvePreferredTls, toMysqlConfig } from './dsn-mysql';

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
// PostgreSQL

const PG_TARGET_SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];

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
