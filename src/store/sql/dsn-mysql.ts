/**
 * MySQL / MariaDB `--sql_source` forms (see dsn.ts for the accepted syntax): the Go DSN and
 * URLs into SqlConnectionConfig, and from there into mysql2 options.
 */
import { parseGoDuration } from '../../config/units';
import { DataSourceError, fail, parsePort, tlsOptions, type MysqlConnectionOptions, type MysqlTlsOptions, type ParsedUrl, type SqlConnectionConfig, type SqlTlsConfig, type SqlTlsMode } from './dsn-common';

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
export function mysqlFromGoDsn(s: string): SqlConnectionConfig {
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

export function mysqlFromUrl(p: ParsedUrl): SqlConnectionConfig {
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
