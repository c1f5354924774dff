/**
 * PostgreSQL's group-commit COPY (dialect/postgres-copy.ts) writes its frames to the pg
 * connection's socket itself: over TLS that socket is the TLS stream pg switched to after its
 * SSL request, not the TCP socket it opened. A store on a TLS-only connection (sslmode=require)
 * commits batches that take the COPY (more than the prepared INSERT's 4 rows) and are larger
 * than one CopyData frame (1 MB), and reads every payload back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { startPostgres, type PgInstance } from '../helpers/db';
import { assertPayloadsStored, openSqlStoreAt } from '../helpers/sql-store';

let pg: PgInstance;
let store: SqlStore | undefined;
before(async () => {
  pg = await startPostgres({ tls: true });
});
after(async () => {
  await store?.close();
  await pg.destroy();
});

test('COPY frames over a TLS connection: every row stored, read back identical', async () => {
  const url = `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/${pg.database}?sslmode=require`;
  store = await openSqlStoreAt('postgres', url);
  await store.commit();
  const ssl = (await store.adapter.knex.raw('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')) as { rows: Array<{ ssl: boolean }> };
  assert.equal(ssl.rows[0]?.ssl, true, 'the store writes over TLS');

  const ch = store.createChannel('tls');
  const payload = (seq: number): Buffer => Buffer.alloc(seq % 3 === 0 ? 100_000 : 100 + seq, seq % 251);
  let seq = 0;
  // Two commits of 40 rows, each ~1.3 MB (13 payloads of 100 kB): more than one CopyData frame.
  for (const n of [40, 40]) {
    for (let i = 0; i < n; i++) {
      seq++;
      ch.msgs.store({ seq, timestamp: 1_000 + seq, subject: 'tls', reply: '', data: payload(seq) });
    }
    await store.commit();
  }
  await assertPayloadsStored(store, seq, payload);
});
