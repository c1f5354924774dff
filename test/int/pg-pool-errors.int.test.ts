/**
 * src/store/sql/pg-multihost.ts openPgPool: a checked-out client whose server connection is
 * terminated while no query runs on it must not kill the process (pg-pool listens for a
 * client's errors only while it is idle; the "terminating connection" message then went to an
 * 'error' event without a listener, which crashed an FT standby when its database stopped).
 * Real PostgreSQL; the backend is ended with pg_terminate_backend, as a server shutdown does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPg } from '../../src/store/sql/load-pg';
import { openPgPool } from '../../src/store/sql/pg-multihost';
import { parseDataSource, toPgConfig } from '../../src/store/sql/dsn';
import { startPostgres, type PgInstance } from '../helpers/db';
import { uncaughtDuring } from '../helpers/uncaught';

let pg: PgInstance;
before(async () => {
  pg = await startPostgres();
});
after(async () => {
  await pg.destroy();
});

for (const source of ['plain', 'host-walking'] as const) {
  test(`${source} pool: a checked-out client whose backend is terminated between queries keeps the process up; the pool replaces it`, async () => {
    const url = pg.url() + (source === 'host-walking' ? '&target_session_attrs=any' : '');
    const conn = parseDataSource('postgres', url);
    const pool = openPgPool(loadPg(), conn, toPgConfig(conn), { max: 1 });
    try {
      const client = await pool.connect();
      const pid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      const errors = await uncaughtDuring(async () => {
        // Held, idle, no query: the window in which the server's FATAL message arrives.
        await pg.adminQuery(`SELECT pg_terminate_backend(${pid})`, 'postgres');
        await new Promise((r) => setTimeout(r, 300));
      });
      assert.deepEqual(errors.map((e) => e.message), [], 'no uncaught error');
      await assert.rejects(client.query('SELECT 1'), 'the broken client reports the loss to its next query');
      client.release();
      const again = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      assert.notEqual(again, pid, 'a new connection serves the next query');
    } finally {
      await pool.end();
    }
  });
}
