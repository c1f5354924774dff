/**
 * SQLite (`-store file`): message rows through one prepared INSERT run once per row inside the
 * caller's transaction (the import's bulk append, contract.ts BulkAppendStore). better-sqlite3
 * is synchronous and in-process: a prepared statement per row costs ~1–2 µs, where the group
 * commit's multi-row INSERTs (500 rows, Knex compiling each statement and its 2,500 bindings)
 * cost several times that.
 */
import type { Knex } from 'knex';
import type { BulkMessages } from '../../contract';
import { trxConnection } from './connection';

interface SqliteStatement {
  run(...params: Array<number | Buffer>): unknown;
}

interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
}

export async function insertPrepared(trx: Knex.Transaction, channelID: number, rows: BulkMessages): Promise<void> {
  const db = await trxConnection<SqliteDatabase>(trx);
  const stmt = db.prepare('insert into stan_messages (channel_id, seq, ts, size, data) values (?, ?, ?, ?, ?)');
  let start = 0;
  for (let r = 0; r < rows.count; r++) {
    const end = rows.ends[r];
    stmt.run(channelID, rows.seqs[r], rows.timestamps[r], end - start, rows.data.subarray(start, end));
    start = end;
  }
}
