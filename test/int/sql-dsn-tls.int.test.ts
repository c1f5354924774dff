/**
 * `--sql_source` TLS end to end: DSNs parsed by src/store/sql/dsn.ts and turned into pg /
 * mysql2 options connect to real PostgreSQL and MariaDB servers that use a generated
 * certificate (test/helpers/db.ts): verified with the right CA, refused with a wrong one,
 * host name checked by verify-full / tls=true but not by verify-ca, plain when disabled.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import { parseDataSource, resolvePreferredTls, toMysqlConfig, toPgConfig, type SqlConnectionConfig } from '../../src/store/sql/dsn';
import { sharedMariaDB, startMariaDB, startPostgres, type MariaInstance, type PgInstance } from '../helpers/db';

const CERT_ERR = /self[- ]signed|unable to verify|unable to get local issuer/;

/** Connects with the pg options of `source`; resolves whether the session is encrypted. */
async function pgSsl(source: string): Promise<boolean> {
  const c = new PgClient({ ...toPgConfig(parseDataSource('postgres', source)), connectionTimeoutMillis: 10000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return r.rows[0]?.ssl === true;
  } finally {
    await c.end();
  }
}

async function myCipher(cfg: SqlConnectionConfig): Promise<string> {
  const c = await mysql.createConnection({ ...toMysqlConfig(cfg), connectTimeout: 10000 });
  c.on('error', () => undefined);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
    return String(rows[0]?.Value ?? '');
  } finally {
    await c.end();
  }
}

function mySource(m: MariaInstance, params: string, host = '127.0.0.1'): SqlConnectionConfig {
  return parseDataSource('mysql', `${m.user}:${m.password}@tcp(${host}:${m.port})/${m.database}${params}`);
}

describe('PostgreSQL sslmode through toPgConfig', () => {
  let pg: PgInstance;
  let other: PgInstance; // certificate for another name only
  before(async () => {
    [pg, other] = await Promise.all([startPostgres({ tls: true }), startPostgres({ tls: { names: ['db.example.test'] } })]);
  });
  after(async () => {
    await Promise.all([pg?.destroy(), other?.destroy()]);
  });
  const kv = (i: PgInstance, rest: string, host = '127.0.0.1'): string =>
    `host=${host} port=${i.port} user=${i.user} password='${i.password}' dbname=${i.database} ${rest}`;

  test('verify-full with the CA (key/value and URL forms), by IP and by name', async () => {
    const ca = pg.tls?.caFile ?? '';
    assert.equal(await pgSsl(kv(pg, `sslmode=verify-full sslrootcert=${ca}`)), true);
    assert.equal(await pgSsl(kv(pg, `sslmode=verify-full sslrootcert=${ca}`, 'localhost')), true);
    assert.equal(await pgSsl(`postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/${pg.database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`), true);
  });

  test('a wrong CA is refused (verify-full, verify-ca, require + sslrootcert)', async () => {
    const wrong = pg.tls?.wrongCaFile ?? '';
    for (const mode of ['verify-full', 'verify-ca', 'require']) {
      await assert.rejects(pgSsl(kv(pg, `sslmode=${mode} sslrootcert=${wrong}`)), CERT_ERR, mode);
    }
  });

  test('require encrypts without verification; the default is require; disable is plain', async () => {
    assert.equal(await pgSsl(kv(pg, 'sslmode=require')), true);
    assert.equal(await pgSsl(kv(pg, '')), true);
    assert.equal(await pgSsl(kv(pg, 'sslmode=disable')), false);
  });

  test('verify-full checks the host name, verify-ca does not', async () => {
    const ca = other.tls?.caFile ?? '';
    await assert.rejects(pgSsl(kv(other, `sslmode=verify-full sslrootcert=${ca}`)), /Hostname\/IP does not match|altnames/);
    assert.equal(await pgSsl(kv(other, `sslmode=verify-ca sslrootcert=${ca}`)), true);
  });
});

describe('MySQL tls= through toMysqlConfig', () => {
  let m: MariaInstance;
  let other: MariaInstance;
  before(async () => {
    [m, other] = await Promise.all([startMariaDB({ tls: true }), startMariaDB({ tls: { names: ['db.example.test'] } })]);
  });
  after(async () => {
    await Promise.all([m?.destroy(), other?.destroy()]);
  });

  test('tls=true with tls-ca verifies and encrypts (Go DSN and URL forms)', async () => {
    const ca = m.tls?.caFile ?? '';
    assert.notEqual(await myCipher(mySource(m, `?tls=true&tls-ca=${ca}`)), '');
    assert.notEqual(await myCipher(mySource(m, `?tls=true&tls-ca=${ca}`, 'localhost')), '');
    assert.notEqual(await myCipher(parseDataSource('mysql', `mysql://${m.user}:${m.password}@127.0.0.1:${m.port}/${m.database}?tls=true&tls-ca=${encodeURIComponent(ca)}`)), '');
  });

  test('a wrong CA, or no CA (system roots), is refused', async () => {
    await assert.rejects(myCipher(mySource(m, `?tls=true&tls-ca=${m.tls?.wrongCaFile ?? ''}`)), CERT_ERR);
    await assert.rejects(myCipher(mySource(m, '?tls=true')), CERT_ERR);
  });

  test('tls=true checks the host name', async () => {
    await assert.rejects(myCipher(mySource(other, `?tls=true&tls-ca=${other.tls?.caFile ?? ''}`)), /Hostname\/IP does not match|altnames/);
  });

  test('skip-verify encrypts without verification; no tls is plain', async () => {
    assert.notEqual(await myCipher(mySource(other, '?tls=skip-verify')), '');
    assert.equal(await myCipher(mySource(m, '')), '');
  });

  test('tls=preferred: TLS when offered, plain text otherwise (resolvePreferredTls)', async () => {
    const withTls = await resolvePreferredTls(mySource(m, '?tls=preferred'));
    assert.equal(withTls.tls?.mode, 'skip-verify');
    assert.notEqual(await myCipher(withTls), '');
    const plainServer = await sharedMariaDB(); // started without TLS
    const noTls = await resolvePreferredTls(mySource(plainServer, '?tls=preferred'));
    assert.equal(noTls.tls, undefined);
    assert.equal(await myCipher(noTls), '');
  });
});
