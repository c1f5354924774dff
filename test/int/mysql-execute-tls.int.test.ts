/**
 * The message rows' own COM_STMT_EXECUTE (dialect/mysql-execute*.ts) goes through the mysql2
 * connection's `writePacket`: over TLS that is the TLS stream mysql2 switched to, and a statement
 * above 16 MB is split into protocol packets by mysql2. A store on a TLS connection to MariaDB
 * (`tls=skip-verify`, checked in `Ssl_cipher`) commits a batch of small rows and a batch of
 * 20 one-megabyte rows (one ~20 MB statement: two protocol packets), and reads every row back.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { startMariaDB, type MariaInstance } from '../helpers/db';
import { assertPayloadsStored, openSqlStoreAt } from '../helpers/sql-store';

let maria: MariaInstance;
let store: SqlStore | undefined;
before(async () => {
  maria = await startMariaDB({ tls: true });
});
after(async () => {
  await store?.close();
  await maria.destroy();
});

test('our COM_STMT_EXECUTE over TLS, and a statement above 16 MB: every row stored, read back identical', async () => {
  const source = `${maria.user}:${maria.password}@tcp(127.0.0.1:${maria.port})/${maria.database}?tls=skip-verify`;
  store = await openSqlStoreAt('mysql', source);
  await store.commit();
  const [cipher] = (await store.adapter.knex.raw("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) as [Array<{ Value: string }>];
  assert.notEqual(cipher[0]?.Value ?? '', '', 'the store writes over TLS');

  const ch = store.createChannel('tls');
  const payload = (seq: number): Buffer => (seq > 50 ? Buffer.alloc(1 << 20, seq % 251) : Buffer.alloc(seq % 7 === 0 ? 0 : 100 + seq, seq % 251));
  let seq = 0;
  for (const n of [50, 20]) {
    for (let i = 0; i < n; i++) {
      seq++;
      ch.msgs.store({ seq, timestamp: 1_796_520_990_264_663_808 + seq * 4096, subject: 'tls', reply: '', data: payload(seq) });
    }
    await store.commit();
  }
  await assertPayloadsStored(store, seq, payload);
});
