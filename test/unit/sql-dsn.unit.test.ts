/**
 * `--sql_source` parsing (src/store/sql/dsn.ts): golden tables of the reference's Go DSN forms
 * and URLs for both drivers, error cases (message content, never the password), the pg /
 * mysql2 option mapping including TLS, and password redaction.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { PoolConfig } from 'pg';
import type { PoolOptions } from 'mysql2';
import {
  DataSourceError,
  mysqlSessionVariables,
  needsHostWalk,
  parseDataSource,
  pgHosts,
  redactDataSource,
  toMysqlConfig,
  toPgConfig,
  type SqlConnectionConfig,
  type SqlDriver,
} from '../../src/store/sql/dsn';

type Expected = Omit<SqlConnectionConfig, 'driver' | 'options'> & { options?: Record<string, string> };

function golden(driver: SqlDriver, rows: Array<[string, Expected]>): void {
  for (const [source, exp] of rows) {
    const got = parseDataSource(driver, source);
    assert.deepStrictEqual(got, { driver, options: {}, ...exp }, `source: ${source}`);
  }
}

const PG = { host: 'localhost', port: 5432 };
const MY = { host: '127.0.0.1', port: 3306 };

test('postgres key/value DSNs (lib/pq syntax)', () => {
  golden('postgres', [
    ['user=ivan password=pwd dbname=nss_db host=localhost port=5432 sslmode=disable', { ...PG, user: 'ivan', password: 'pwd', database: 'nss_db' }],
    [
      'user=ivan password=pwd dbname=nss_db host=db.example.com port=6543 sslmode=verify-full sslrootcert=/x/ca.pem connect_timeout=5',
      { host: 'db.example.com', port: 6543, user: 'ivan', password: 'pwd', database: 'nss_db', tls: { mode: 'verify-full', ca: '/x/ca.pem' }, connectTimeoutMs: 5000 },
    ],
    ["user=u password='a b' dbname=d sslmode=disable", { ...PG, user: 'u', password: 'a b', database: 'd' }],
    ["user=u password='it\\'s' dbname=d sslmode=disable", { ...PG, user: 'u', password: "it's", database: 'd' }],
    ["user=u password='back\\\\slash' dbname=d sslmode=disable", { ...PG, user: 'u', password: 'back\\slash', database: 'd' }],
    ['user=u password=a\\ b dbname=d sslmode=disable', { ...PG, user: 'u', password: 'a b', database: 'd' }],
    ["user=u password='' dbname=d sslmode=disable", { ...PG, user: 'u', password: '', database: 'd' }],
    ['user=u password=p@ss:w/rd?x=1 dbname=d sslmode=disable', { ...PG, user: 'u', password: 'p@ss:w/rd?x=1', database: 'd' }],
    ['  user = u   dbname= d\tsslmode =disable  ', { ...PG, user: 'u', password: '', database: 'd' }],
    // lib/pq's default is sslmode=require
    ['user=u dbname=d', { ...PG, user: 'u', password: '', database: 'd', tls: { mode: 'require' } }],
    ['user=u dbname=d sslmode=require', { ...PG, user: 'u', password: '', database: 'd', tls: { mode: 'require' } }],
    // require + root certificate verifies the chain (libpq compatibility)
    ['user=u dbname=d sslmode=require sslrootcert=/ca.pem', { ...PG, user: 'u', password: '', database: 'd', tls: { mode: 'verify-ca', ca: '/ca.pem' } }],
    ['user=u dbname=d sslmode=verify-ca sslrootcert=/ca.pem', { ...PG, user: 'u', password: '', database: 'd', tls: { mode: 'verify-ca', ca: '/ca.pem' } }],
    [
      'user=u dbname=d sslmode=verify-full sslrootcert=/ca.pem sslcert=/c.pem sslkey=/k.pem',
      { ...PG, user: 'u', password: '', database: 'd', tls: { mode: 'verify-full', ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' } },
    ],
    ['user=u dbname=d sslmode=VERIFY-FULL', { ...PG, user: 'u', password: '', database: 'd', tls: { mode: 'verify-full' } }],
    // unix socket directory
    ['host=/var/run/postgresql user=u dbname=d', { ...PG, socketPath: '/var/run/postgresql', user: 'u', password: '', database: 'd', tls: { mode: 'require' } }],
    // dbname defaults to the user
    ['user=ivan sslmode=disable', { ...PG, user: 'ivan', password: '', database: 'ivan' }],
    ['hostaddr=10.0.0.5 user=u dbname=d sslmode=disable', { host: '10.0.0.5', port: 5432, user: 'u', password: '', database: 'd' }],
    ['user=u dbname=d sslmode=disable connect_timeout=0', { ...PG, user: 'u', password: '', database: 'd' }],
    // unknown keys are run-time parameters
    [
      'user=u dbname=d sslmode=disable application_name=stan search_path=a,b',
      { ...PG, user: 'u', password: '', database: 'd', options: { application_name: 'stan', search_path: 'a,b' } },
    ],
    // later settings win
    ['user=a user=b dbname=d sslmode=disable', { ...PG, user: 'b', password: '', database: 'd' }],
  ]);
});

test('postgres URLs', () => {
  golden('postgres', [
    ['postgres://user:pass@db.example.com:6543/mydb?sslmode=require', { host: 'db.example.com', port: 6543, user: 'user', password: 'pass', database: 'mydb', tls: { mode: 'require' } }],
    ['postgresql://user:pass@host/mydb?sslmode=disable', { host: 'host', port: 5432, user: 'user', password: 'pass', database: 'mydb' }],
    ['POSTGRES://user:pass@host/mydb?sslmode=disable', { host: 'host', port: 5432, user: 'user', password: 'pass', database: 'mydb' }],
    ['postgres://u:p%40ss%3Aw%2Frd@[::1]:5433/d?sslmode=disable', { host: '::1', port: 5433, user: 'u', password: 'p@ss:w/rd', database: 'd' }],
    // a raw '@' in the password: the last '@' ends the user info
    ['postgres://u:p@ss@host/d?sslmode=disable', { host: 'host', port: 5432, user: 'u', password: 'p@ss', database: 'd' }],
    ['postgres://u@%2Fvar%2Frun%2Fpostgresql/d', { ...PG, socketPath: '/var/run/postgresql', user: 'u', password: '', database: 'd', tls: { mode: 'require' } }],
    ['postgres:///d?host=/tmp&user=u&sslmode=disable', { ...PG, socketPath: '/tmp', user: 'u', password: '', database: 'd' }],
    ['postgres://u:p@h?sslmode=disable', { host: 'h', port: 5432, user: 'u', password: 'p', database: 'u' }],
    [
      'postgres://u:p@h/d%20b?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=10&application_name=x',
      { host: 'h', port: 5432, user: 'u', password: 'p', database: 'd b', tls: { mode: 'verify-full', ca: '/etc/ca.pem' }, connectTimeoutMs: 10000, options: { application_name: 'x' } },
    ],
    // query parameters override the URL parts, as in lib/pq
    ['postgres://u:p@h/d?sslmode=disable&password=other', { host: 'h', port: 5432, user: 'u', password: 'other', database: 'd' }],
  ]);
});

test('postgres: user defaults to the OS user (lib/pq)', () => {
  const c = parseDataSource('postgres', 'dbname=d sslmode=disable');
  assert.equal(c.user, os.userInfo().username);
  assert.equal(c.database, 'd');
});

test('mysql Go DSNs (go-sql-driver syntax)', () => {
  golden('mysql', [
    ['user:pass@tcp(host:3307)/db?param=value&tls=true', { host: 'host', port: 3307, user: 'user', password: 'pass', database: 'db', tls: { mode: 'verify-full' }, options: { param: 'value' } }],
    ['user@unix(/path/sock)/db', { host: 'localhost', port: 3306, socketPath: '/path/sock', user: 'user', password: '', database: 'db' }],
    ['user:pass@unix/db', { host: 'localhost', port: 3306, socketPath: '/tmp/mysql.sock', user: 'user', password: 'pass', database: 'db' }],
    ['user:pass@/db', { ...MY, user: 'user', password: 'pass', database: 'db' }],
    ['user:pass@tcp/db', { ...MY, user: 'user', password: 'pass', database: 'db' }],
    ['/db', { ...MY, user: '', password: '', database: 'db' }],
    ['user:pw@tcp(db.example.com)/db', { host: 'db.example.com', port: 3306, user: 'user', password: 'pw', database: 'db' }],
    ['user:pw@tcp([::1]:3307)/db', { host: '::1', port: 3307, user: 'user', password: 'pw', database: 'db' }],
    ['user:pw@tcp(:3307)/db', { host: '127.0.0.1', port: 3307, user: 'user', password: 'pw', database: 'db' }],
    // the password runs from the first ':' to the last '@'
    ['us:p@ss:w@rd@tcp(h:1)/d', { host: 'h', port: 1, user: 'us', password: 'p@ss:w@rd', database: 'd' }],
    ['u:p/w@tcp(h:1)/d', { host: 'h', port: 1, user: 'u', password: 'p/w', database: 'd' }],
    ['u:p?w@tcp(h:1)/d?tls=skip-verify', { host: 'h', port: 1, user: 'u', password: 'p?w', database: 'd', tls: { mode: 'skip-verify' } }],
    ['u:p@tcp(h:1)/', { host: 'h', port: 1, user: 'u', password: 'p', database: '' }],
    ['u:p@tcp(h:1)/my%2Fdb', { host: 'h', port: 1, user: 'u', password: 'p', database: 'my/db' }],
    [
      'u:p@tcp(h:3306)/d?tls=skip-verify&timeout=1m30s&charset=utf8mb4&parseTime=true&autocommit=1',
      { host: 'h', port: 3306, user: 'u', password: 'p', database: 'd', tls: { mode: 'skip-verify' }, connectTimeoutMs: 90000, options: { timeout: '1m30s', charset: 'utf8mb4', parseTime: 'true', autocommit: '1' } },
    ],
    ['u:p@tcp(h:1)/d?tls=preferred', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'preferred' } }],
    ['u:p@tcp(h:1)/d?tls=false', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd' }],
    ['u:p@tcp(h:1)/d?tls=1', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'verify-full' } }],
    ['u:p@tcp(h:1)/d?tls=TRUE', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'verify-full' } }],
    // our extension: tls-ca (plain or %2F-escaped '/'), implying tls=true when tls is absent
    ['u:p@tcp(h:1)/d?tls=true&tls-ca=/etc/ssl/ca.pem', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'verify-full', ca: '/etc/ssl/ca.pem' } }],
    ['u:p@tcp(h:1)/d?tls-ca=%2Fetc%2Fssl%2Fca.pem', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'verify-full', ca: '/etc/ssl/ca.pem' } }],
    [
      'u:p@tcp(h:1)/d?tls=true&tls-ca=/ca.pem&tls-cert=/c.pem&tls-key=/k.pem',
      { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'verify-full', ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' } },
    ],
    ['u:p@tcp(h:1)/d?tls=skip-verify&tls-ca=/ca.pem', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', tls: { mode: 'skip-verify', ca: '/ca.pem' } }],
    ['u:p@tcp(h:1)/d?timeout=0', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', options: { timeout: '0' } }],
    ['u:p@tcp(h:1)/d?timeout=250ms', { host: 'h', port: 1, user: 'u', password: 'p', database: 'd', connectTimeoutMs: 250, options: { timeout: '250ms' } }],
  ]);
});

test('mysql URLs', () => {
  golden('mysql', [
    ['mysql://user:pass@host:3307/db?tls=true&tls-ca=/x/ca.pem', { host: 'host', port: 3307, user: 'user', password: 'pass', database: 'db', tls: { mode: 'verify-full', ca: '/x/ca.pem' } }],
    ['mariadb://u:p%2Fw%40x@h/d', { host: 'h', port: 3306, user: 'u', password: 'p/w@x', database: 'd' }],
    ['mysql://u@/d?socket=/run/mysqld/mysqld.sock', { host: 'localhost', port: 3306, socketPath: '/run/mysqld/mysqld.sock', user: 'u', password: '', database: 'd' }],
    ['mysql://u:p@[::1]/d?timeout=5s', { host: '::1', port: 3306, user: 'u', password: 'p', database: 'd', connectTimeoutMs: 5000, options: { timeout: '5s' } }],
    ['mysql://h', { host: 'h', port: 3306, user: '', password: '', database: '' }],
  ]);
});

const SECRET = 's3cr3tPW';

function assertDsnError(driver: SqlDriver, source: string, re: RegExp): void {
  assert.throws(
    () => parseDataSource(driver, source),
    (err: unknown) => {
      assert.ok(err instanceof DataSourceError, `not a DataSourceError: ${String(err)}`);
      assert.match(err.message, re, `source ${redactDataSource(source)}`);
      assert.ok(!err.message.includes(SECRET), `message leaks the password: ${err.message}`);
      assert.match(err.message, driver === 'postgres' ? /postgres:\/\/stan:secret@/ : /stan:secret@tcp\(/, 'shows the expected forms');
      return true;
    },
    `expected an error for ${redactDataSource(source)}`,
  );
}

test('postgres errors say what is wrong, show the forms, never the password', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['   ', /empty/],
    [`user=ivan password=${SECRET} dbname`, /missing "="/],
    [`user=ivan ${SECRET}`, /missing "="/],
    [`user=ivan password='${SECRET}`, /unterminated quoted value for password/],
    [`user=ivan password='${SECRET}'x dbname=d`, /right after the quoted value of password/],
    [`user=u password=${SECRET} sslmode=prefer`, /unsupported sslmode "prefer".*disable, require.*verify-ca.*verify-full/],
    [`user=u password=${SECRET} sslmode=allow`, /unsupported sslmode/],
    [`user=u password=${SECRET} port=99999`, /invalid port "99999"/],
    [`user=u password=${SECRET} port=abc`, /invalid port/],
    [`user=u password=${SECRET} connect_timeout=5s`, /connect_timeout must be a whole number of seconds/],
    [`user=u password=${SECRET} host=a,b,c port=1,2`, /2 ports for 3 hosts \(give one port for all hosts, or one per host\)/],
    [`user=u password=${SECRET} host=a,b port=1,x`, /invalid port "x"/],
    [`user=u password=${SECRET} host=a,b target_session_attrs=leader`, /unsupported target_session_attrs "leader": use any, read-write, read-only, primary, standby, prefer-standby/],
    [`user=u password=${SECRET} host=a,b load_balance_hosts=yes`, /unsupported load_balance_hosts "yes": use disable or random/],
    [`user=u password=${SECRET} hostaddr=10.0.0.1,10.0.0.2`, /hostaddr list is not supported/],
    [`postgres://u:${SECRET}@a:1,b:x/d`, /invalid host entry "b:x"/],
    [`postgres://u:${SECRET}@a:1,b:99999/d`, /invalid port "99999"/],
    [`user=u password=${SECRET} sslmode=verify-full sslcert=/c.pem`, /sslcert and sslkey go together/],
    [`ivan:${SECRET}@tcp(localhost:3306)/db`, /looks like a MySQL DSN/],
    [`mysql://u:${SECRET}@h/db`, /a mysql:\/\/ URL is not a PostgreSQL URL/],
    [`postgres://u:${SECRET}@h:notaport/db`, /cannot be parsed/],
    [`postgres://u:${SECRET}@h/d/extra`, /just the database name/],
    [`postgres://u:${SECRET}@h:99999/d`, /cannot be parsed|invalid port/],
  ];
  for (const [src, re] of cases) assertDsnError('postgres', src, re);
});

test('postgres multi-host sources, as libpq accepts them', () => {
  const rw = { targetSessionAttrs: 'read-write' as const };
  golden('postgres', [
    [
      'host=a,b port=5432,5433 target_session_attrs=read-write user=u dbname=d sslmode=disable',
      { host: 'a', port: 5432, user: 'u', password: '', database: 'd', hosts: [{ host: 'a', port: 5432 }, { host: 'b', port: 5433 }], ...rw },
    ],
    [
      'postgres://u:p%40ss@a:5432,b:5433/d?target_session_attrs=read-write&sslmode=disable',
      { host: 'a', port: 5432, user: 'u', password: 'p@ss', database: 'd', hosts: [{ host: 'a', port: 5432 }, { host: 'b', port: 5433 }], ...rw },
    ],
    // One port for every host; empty entries are the defaults.
    [
      'host=a,,c port=6000 user=u dbname=d sslmode=disable',
      { host: 'a', port: 6000, user: 'u', password: '', database: 'd', hosts: [{ host: 'a', port: 6000 }, { host: 'localhost', port: 6000 }, { host: 'c', port: 6000 }] },
    ],
    [
      'postgresql://u@[::1]:7,h2/d?sslmode=disable&target_session_attrs=PRIMARY&load_balance_hosts=random',
      { host: '::1', port: 7, user: 'u', password: '', database: 'd', hosts: [{ host: '::1', port: 7 }, { host: 'h2', port: 5432 }], targetSessionAttrs: 'primary', loadBalanceHosts: true },
    ],
    [
      'host=/run/pg,b port=5433,5434 user=u dbname=d sslmode=disable target_session_attrs=any',
      { host: 'localhost', port: 5433, socketPath: '/run/pg', user: 'u', password: '', database: 'd', hosts: [{ host: 'localhost', port: 5433, socketPath: '/run/pg' }, { host: 'b', port: 5434 }] },
    ],
    // One host with a session kind: still a host walk (of one).
    ['host=a user=u dbname=d sslmode=disable target_session_attrs=standby', { host: 'a', port: 5432, user: 'u', password: '', database: 'd', targetSessionAttrs: 'standby' }],
  ]);
  assert.deepEqual(pgHosts(parseDataSource('postgres', 'host=a port=1 sslmode=disable')), [{ host: 'a', port: 1 }]);
  assert.equal(needsHostWalk(parseDataSource('postgres', 'host=a port=1 sslmode=disable')), false);
  assert.equal(needsHostWalk(parseDataSource('postgres', 'host=a,b sslmode=disable')), true);
  assert.equal(needsHostWalk(parseDataSource('postgres', 'host=a sslmode=disable target_session_attrs=read-only')), true);
  // The multi-host options never reach the server as run-time parameters.
  const cfg = toPgConfig(parseDataSource('postgres', 'host=a,b sslmode=disable target_session_attrs=read-write load_balance_hosts=disable'));
  assert.equal(cfg.options, undefined);
  assert.equal(redactDataSource(`postgres://u:${SECRET}@a:1,b:2/d`), 'postgres://u:***@a:1,b:2/d');
});

test('mysql errors say what is wrong, show the forms, never the password', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    [`u:${SECRET}@tcp(h:1)db`, /missing the "\/" before the database name/],
    [`user=ivan password=${SECRET} dbname=x`, /looks like a PostgreSQL key=value DSN/],
    [`u:${SECRET}@tcp(h:1)/d?tls=custom`, /named TLS configurations.*tls-ca=/],
    [`u:${SECRET}@foo(h)/d`, /unsupported network "foo"/],
    [`u:${SECRET}@tcp(h:99999)/d`, /invalid port "99999"/],
    [`u:${SECRET}@tcp(h:1)/d?timeout=5`, /Go duration/],
    [`u:${SECRET}@tcp(h:1)/d?novalue`, /key=value/],
    [`u:${SECRET}@tcp(h:1)/d?tls=false&tls-ca=/ca.pem`, /tls=false/],
    [`u:${SECRET}@tcp(h:1)/d?tls=true&tls-cert=/c.pem`, /tls-cert and tls-key go together/],
    [`u:${SECRET}@tcp([::1/d`, /network part|IPv6/],
    [`postgres://u:${SECRET}@h/d`, /a postgres:\/\/ URL is not a MySQL URL/],
    [`mysql://u:${SECRET}@h:x/d`, /cannot be parsed/],
  ];
  for (const [src, re] of cases) assertDsnError('mysql', src, re);
  assert.throws(() => parseDataSource('oracle' as SqlDriver, 'x'), /unknown --sql_driver "oracle"/);
});

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-dsn-'));
after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));

let pemCounter = 0;
function tmpPem(name: string, body: string): string {
  const f = path.join(tmpDir, `${++pemCounter}-${name}`);
  fs.writeFileSync(f, body);
  return f;
}

test('toPgConfig: connection fields, run-time parameters, TLS modes', () => {
  const caPem = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
  const caFile = tmpPem('ca.pem', caPem);
  const plain = toPgConfig(parseDataSource('postgres', 'user=u password=p dbname=d host=h port=1 sslmode=disable connect_timeout=3 application_name=stan search_path=a\\ b'));
  assert.deepStrictEqual(plain, {
    host: 'h',
    port: 1,
    user: 'u',
    password: 'p',
    database: 'd',
    ssl: false,
    connectionTimeoutMillis: 3000,
    application_name: 'stan',
    options: '-c search_path=a\\ b',
  });
  const pgPool: PoolConfig = plain; // assignable to pg.PoolConfig
  assert.equal(pgPool.host, 'h');

  assert.deepStrictEqual(toPgConfig(parseDataSource('postgres', 'user=u dbname=d sslmode=require')).ssl, { rejectUnauthorized: false });
  assert.deepStrictEqual(toPgConfig(parseDataSource('postgres', `user=u dbname=d sslmode=verify-full sslrootcert=${caFile}`)).ssl, { ca: caPem, rejectUnauthorized: true });

  const vca = toPgConfig(parseDataSource('postgres', `user=u dbname=d sslmode=verify-ca sslrootcert=${caFile}`)).ssl;
  assert.ok(vca !== false);
  assert.equal(vca.rejectUnauthorized, true);
  assert.equal(vca.ca, caPem);
  assert.equal(typeof vca.checkServerIdentity, 'function');
  assert.equal(vca.checkServerIdentity?.('other.host', {} as never), undefined, 'verify-ca skips the host name check');

  // inline PEM (lib/pq sslinline)
  const inline = toPgConfig(parseDataSource('postgres', `user=u dbname=d sslmode=verify-full sslinline=true sslrootcert='${caPem}'`)).ssl;
  assert.ok(inline !== false);
  assert.equal(inline.ca, caPem);

  // no TLS over a unix socket
  const sock = toPgConfig(parseDataSource('postgres', 'host=/run/pg user=u dbname=d sslmode=require'));
  assert.equal(sock.host, '/run/pg');
  assert.equal(sock.ssl, false);

  assert.throws(
    () => toPgConfig(parseDataSource('postgres', `user=u password=${SECRET} dbname=d sslmode=verify-full sslrootcert=/nonexistent/ca.pem`)),
    (err: unknown) => err instanceof DataSourceError && /CA certificate file "\/nonexistent\/ca.pem".*ENOENT/.test(err.message) && !err.message.includes(SECRET),
  );
  assert.throws(() => toPgConfig(parseDataSource('mysql', 'u@/d')), DataSourceError);
});

test('toMysqlConfig: connection fields and TLS modes', () => {
  const caPem = '-----BEGIN CERTIFICATE-----\nMIIBfake2\n-----END CERTIFICATE-----\n';
  const caFile = tmpPem('ca.pem', caPem);
  const full = toMysqlConfig(parseDataSource('mysql', `u:p@tcp(h:3307)/d?tls=true&tls-ca=${caFile}&timeout=2s&charset=utf8mb4,utf8&multiStatements=true&loc=UTC`));
  assert.deepStrictEqual(full, {
    user: 'u',
    password: 'p',
    database: 'd',
    host: 'h',
    port: 3307,
    connectTimeout: 2000,
    charset: 'UTF8MB4',
    multipleStatements: true,
    timezone: 'Z',
    ssl: { rejectUnauthorized: true, verifyIdentity: true, ca: caPem },
  });
  const pool: PoolOptions = full; // assignable to mysql2.PoolOptions
  assert.equal(pool.host, 'h');
  assert.deepStrictEqual(toMysqlConfig(parseDataSource('mysql', 'u:p@tcp(h:1)/d?tls=skip-verify')).ssl, { rejectUnauthorized: false, verifyIdentity: false });
  assert.deepStrictEqual(toMysqlConfig(parseDataSource('mysql', 'u:p@tcp(h:1)/d?tls=preferred')).ssl, { rejectUnauthorized: false, verifyIdentity: false });
  assert.equal(toMysqlConfig(parseDataSource('mysql', 'u:p@tcp(h:1)/d')).ssl, undefined);
  assert.equal(toMysqlConfig(parseDataSource('mysql', 'u:p@tcp(h:1)/d?collation=utf8mb4_unicode_ci&charset=latin1')).charset, 'UTF8MB4_UNICODE_CI');
  const named = parseDataSource('mysql', 'u:p@tcp(h:1)/d?tls=true');
  assert.throws(() => toMysqlConfig({ ...named, tls: { mode: 'verify-full', serverName: 'db.internal' } }), /server name other than the host/);
  const sock = toMysqlConfig(parseDataSource('mysql', 'u@unix(/run/m.sock)/d'));
  assert.deepStrictEqual(sock, { user: 'u', password: '', database: 'd', socketPath: '/run/m.sock' });
  assert.deepStrictEqual(toMysqlConfig(parseDataSource('mysql', 'u@/')), { user: 'u', password: '', host: '127.0.0.1', port: 3306 });
  assert.deepStrictEqual(mysqlSessionVariables(parseDataSource('mysql', "u@/d?autocommit=1&parseTime=true&sql_mode='ANSI'&tls=false")), {
    autocommit: '1',
    sql_mode: "'ANSI'",
  });
  assert.throws(() => toMysqlConfig(parseDataSource('mysql', 'u@/d?tls-ca=/nonexistent/ca.pem')), /CA certificate file "\/nonexistent\/ca.pem"/);
  assert.throws(() => toMysqlConfig(parseDataSource('postgres', 'user=u')), DataSourceError);
});

test('redactDataSource hides the password of every form', () => {
  const cases: Array<[string, string]> = [
    [`user=ivan password=${SECRET} dbname=d`, 'user=ivan password=*** dbname=d'],
    [`user=ivan password='${SECRET} x' dbname=d`, 'user=ivan password=*** dbname=d'],
    [`user=ivan password='a\\'${SECRET}' dbname=d`, 'user=ivan password=*** dbname=d'],
    [`user=ivan password=a\\ ${SECRET} dbname=d`, 'user=ivan password=*** dbname=d'],
    [`password = ${SECRET}`, 'password = ***'],
    [`user=ivan dbname=d sslpassword=${SECRET}`, 'user=ivan dbname=d sslpassword=***'],
    [`postgres://u:${SECRET}@h:5432/d?sslmode=disable`, 'postgres://u:***@h:5432/d?sslmode=disable'],
    [`postgres://u:p@${SECRET}@h/d`, 'postgres://u:***@h/d'],
    [`postgres://u@h/d?password=${SECRET}&sslmode=disable`, 'postgres://u@h/d?password=***&sslmode=disable'],
    [`mysql://u:${SECRET}@h/d`, 'mysql://u:***@h/d'],
    [`u:${SECRET}@tcp(h:3306)/d?tls=true`, 'u:***@tcp(h:3306)/d?tls=true'],
    [`u:${SECRET}:x@y@tcp(h:3306)/d`, 'u:***@tcp(h:3306)/d'],
    [`u:${SECRET}@/d`, 'u:***@/d'],
    ['u@tcp(h:3306)/d', 'u@tcp(h:3306)/d'],
    ['user=ivan dbname=d host=h', 'user=ivan dbname=d host=h'],
  ];
  for (const [src, want] of cases) {
    assert.equal(redactDataSource(src), want);
    assert.ok(!redactDataSource(src).includes(SECRET));
  }
});

test('verify-full with a server name checks the certificate against that name (node:tls loaded when checking)', async () => {
  const { tlsOptions } = await import('../../src/store/sql/dsn-common');
  const check = tlsOptions({ mode: 'verify-full', serverName: 'db.internal' }).checkServerIdentity;
  assert.ok(check !== undefined);
  const cert = (name: string): Parameters<typeof check>[1] => ({ subject: { CN: name }, subjectaltname: `DNS:${name}` }) as unknown as Parameters<typeof check>[1];
  // The host connected to does not matter: the configured name does.
  assert.equal(check('10.0.0.5', cert('db.internal')), undefined);
  assert.match(String(check('db.internal', cert('other.example'))), /db\.internal/);
});
