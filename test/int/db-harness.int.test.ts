/**
 * The database test harness (test/helpers/db.ts) against real PostgreSQL and MariaDB servers:
 * per-test databases on the shared per-process instances, the owner can run DDL, the
 * restricted role can only read and write rows, data survives stop/kill + restart, 1 MB
 * payloads fit MariaDB, and TLS works with the generated CA and fails with a wrong one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import { startMariaDB, startPostgres, testDatabase, uniqueName, type MariaInstance, type PgInstance } from '../helpers/db';

async function pgConnect(connectionString: string): Promise<PgClient> {
  const c = new PgClient({ connectionString, connectionTimeoutMillis: 10000 });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

async function myConnect(uri: string, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ uri, connectTimeout: 10000, ...extra });
  c.on('error', () => undefined);
  return c;
}

describe('PostgreSQL harness', () => {
  test('each test database is separate; the owner runs DDL; the restricted role only DML', async () => {
    const a = await testDatabase('postgres');
    const b = await testDatabase('postgres');
    assert.notEqual(a.name, b.name);
    assert.equal(a.instance, b.instance, 'one shared instance per test process');

    const owner = await pgConnect(a.url);
    try {
      await owner.query('CREATE TABLE stan_t (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)');
      await owner.query("INSERT INTO stan_t (v) VALUES ('owner')");
    } finally {
      await owner.end();
    }
    const other = await pgConnect(b.url);
    try {
      await assert.rejects(other.query('SELECT * FROM stan_t'), /relation "stan_t" does not exist/);
    } finally {
      await other.end();
    }

    const role = uniqueName('r');
    const roleUrl = await a.instance.createRestrictedRole(a.name, role, 'r0le-pw');
    // a table created after the grant is covered too (default privileges)
    await a.instance.adminQuery('CREATE TABLE stan_later (id BIGSERIAL PRIMARY KEY, v TEXT)', a.name);

    const r = await pgConnect(roleUrl);
    try {
      const who = await r.query<{ u: string }>('SELECT current_user AS u');
      assert.equal(who.rows[0]?.u, role);
      await r.query("INSERT INTO stan_t (v) VALUES ('role')"); // needs USAGE on the sequence
      await r.query("UPDATE stan_t SET v = 'role2' WHERE v = 'role'");
      await r.query("INSERT INTO stan_later (v) VALUES ('x')");
      await r.query("DELETE FROM stan_later WHERE v = 'x'");
      const rows = await r.query<{ v: string }>('SELECT v FROM stan_t ORDER BY id');
      assert.deepEqual(rows.rows.map((x) => x.v), ['owner', 'role2']);
      for (const ddl of ['CREATE TABLE stan_evil (x INT)', 'DROP TABLE stan_t', 'ALTER TABLE stan_t ADD COLUMN y INT', 'CREATE INDEX stan_i ON stan_t (v)', 'CREATE TEMP TABLE stan_tmp (x INT)']) {
        await assert.rejects(r.query(ddl), (err: unknown) => {
          const e = err as { code?: string; message: string };
          assert.ok(e.code === '42501' || /permission denied|must be owner/.test(e.message), `${ddl}: ${e.message}`);
          return true;
        });
      }
    } finally {
      await r.end();
    }
    await assert.rejects(pgConnect(roleUrl.replace('r0le-pw', 'wrong')), /password authentication failed/);
  });

  test('committed data survives stop + restart and a crash (kill) + restart', async () => {
    const db = await testDatabase('postgres');
    await db.instance.adminQuery('CREATE TABLE stan_k (id INT PRIMARY KEY)', db.name);
    await db.instance.adminQuery('INSERT INTO stan_k VALUES (1)', db.name);
    await db.instance.stop();
    assert.equal(db.instance.running, false);
    await assert.rejects(pgConnect(db.url));
    await db.instance.restart();
    await db.instance.adminQuery('INSERT INTO stan_k VALUES (2)', db.name);
    await db.instance.kill();
    await db.instance.restart();
    const c = await pgConnect(db.url);
    try {
      const r = await c.query<{ id: number }>('SELECT id FROM stan_k ORDER BY id');
      assert.deepEqual(r.rows.map((x) => x.id), [1, 2]);
    } finally {
      await c.end();
    }
  });
});

describe('MariaDB harness', () => {
  test('each test database is separate; the owner runs DDL; the restricted role only DML', async () => {
    const a = await testDatabase('mariadb');
    const b = await testDatabase('mariadb');
    assert.notEqual(a.name, b.name);
    assert.equal(a.instance, b.instance, 'one shared instance per test process');

    const owner = await myConnect(a.url);
    try {
      await owner.query('CREATE TABLE stan_t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL, data LONGBLOB)');
      await owner.query("INSERT INTO stan_t (v) VALUES ('owner')");
      // 1 MB payloads fit (max_allowed_packet=64M)
      const big = Buffer.alloc(1024 * 1024, 7);
      await owner.query("INSERT INTO stan_t (v, data) VALUES ('big', ?)", [big]);
      const [rows] = await owner.query<mysql.RowDataPacket[]>("SELECT LENGTH(data) AS n FROM stan_t WHERE v = 'big'");
      assert.equal(Number(rows[0]?.n), big.length);
      const [pkt] = await owner.query<mysql.RowDataPacket[]>('SELECT @@max_allowed_packet AS m');
      assert.ok(Number(pkt[0]?.m) >= 64 * 1024 * 1024);
    } finally {
      await owner.end();
    }
    const other = await myConnect(b.url);
    try {
      await assert.rejects(other.query('SELECT * FROM stan_t'), /doesn't exist/);
    } finally {
      await other.end();
    }

    const role = uniqueName('r');
    const roleUrl = await a.instance.createRestrictedRole(a.name, role, 'r0le-pw');
    await a.instance.adminQuery('CREATE TABLE stan_later (id BIGINT AUTO_INCREMENT PRIMARY KEY, v TEXT)', a.name);
    const r = await myConnect(roleUrl);
    try {
      await r.query("INSERT INTO stan_t (v) VALUES ('role')");
      await r.query("UPDATE stan_t SET v = 'role2' WHERE v = 'role'");
      await r.query("INSERT INTO stan_later (v) VALUES ('x')");
      await r.query("DELETE FROM stan_later WHERE v = 'x'");
      const [rows] = await r.query<mysql.RowDataPacket[]>("SELECT v FROM stan_t WHERE v <> 'big' ORDER BY id");
      assert.deepEqual(rows.map((x) => x.v as string), ['owner', 'role2']);
      for (const ddl of ['CREATE TABLE stan_evil (x INT)', 'DROP TABLE stan_t', 'ALTER TABLE stan_t ADD COLUMN y INT', 'CREATE INDEX stan_i ON stan_t (v)', 'CREATE DATABASE stan_evil_db']) {
        await assert.rejects(r.query(ddl), (err: unknown) => {
          const e = err as { code?: string; message: string };
          assert.match(e.code ?? '', /ACCESS_DENIED/, `${ddl}: ${e.message}`);
          return true;
        });
      }
    } finally {
      await r.end();
    }
    await assert.rejects(myConnect(roleUrl.replace('r0le-pw', 'wrong')), /Access denied/);
  });

  test('committed data survives stop + restart and a crash (kill) + restart', async () => {
    const db = await testDatabase('mariadb');
    await db.instance.adminQuery('CREATE TABLE stan_k (id INT PRIMARY KEY)', db.name);
    await db.instance.adminQuery('INSERT INTO stan_k VALUES (1)', db.name);
    await db.instance.stop();
    await assert.rejects(myConnect(db.url));
    await db.instance.restart();
    await db.instance.adminQuery('INSERT INTO stan_k VALUES (2)', db.name);
    await db.instance.kill();
    await db.instance.restart();
    const c = await myConnect(db.url);
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT id FROM stan_k ORDER BY id');
      assert.deepEqual(rows.map((x) => Number(x.id)), [1, 2]);
    } finally {
      await c.end();
    }
  });
});

describe('TLS with the generated certificates', () => {
  let pg: PgInstance;
  let maria: MariaInstance;
  before(async () => {
    [pg, maria] = await Promise.all([startPostgres({ tls: true }), startMariaDB({ tls: true })]);
  });
  after(async () => {
    await Promise.all([pg?.destroy(), maria?.destroy()]);
  });

  test('PostgreSQL: sslmode=verify-full with the CA works, with a wrong CA fails', async () => {
    const tls = pg.tls;
    assert.ok(tls !== undefined);
    const base = pg.url().replace('?sslmode=disable', '');
    const c = await pgConnect(`${base}?sslmode=verify-full&sslrootcert=${tls.caFile}`);
    try {
      const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.equal(r.rows[0]?.ssl, true);
    } finally {
      await c.end();
    }
    // also by host name (the certificate names localhost and 127.0.0.1)
    const byName = await pgConnect(`${base.replace('127.0.0.1', 'localhost')}?sslmode=verify-full&sslrootcert=${tls.caFile}`);
    await byName.end();
    await assert.rejects(pgConnect(`${base}?sslmode=verify-full&sslrootcert=${tls.wrongCaFile}`), /self[- ]signed|unable to verify|unable to get local issuer/);
    // the server still takes plain connections (host lines, not hostssl)
    const plain = await pgConnect(pg.url());
    await plain.end();
  });

  test('MariaDB: verified TLS with the CA works, with a wrong CA fails', async () => {
    const tls = maria.tls;
    assert.ok(tls !== undefined);
    const c = await myConnect(maria.url(), { ssl: { ca: fs.readFileSync(tls.caFile, 'utf8'), rejectUnauthorized: true, verifyIdentity: true } });
    try {
      const [rows] = await c.query<mysql.RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      assert.notEqual(String(rows[0]?.Value ?? ''), '', 'the session is encrypted');
    } finally {
      await c.end();
    }
    await assert.rejects(
      myConnect(maria.url(), { ssl: { ca: fs.readFileSync(tls.wrongCaFile, 'utf8'), rejectUnauthorized: true, verifyIdentity: true } }),
      /self[- ]signed|unable to verify|unable to get local issuer/,
    );
  });
});
