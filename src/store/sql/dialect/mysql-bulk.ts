/**
 * MySQL/MariaDB: message rows as wide multi-row INSERTs (the import's bulk append, contract.ts
 * BulkAppendStore), each statement as large as max_allowed_packet allows (up to 2 MB), built as one string
 * with the blobs hex-encoded (X'…': Node encodes a whole range of rows to hex natively, where
 * escaping raw bytes would be a JavaScript loop over every byte) and sent without bind
 * parameters, so the driver does not parse and format the statement again.
 */
import type { Knex } from 'knex';
import type { BulkMessages } from '../../contract';
import { trxConnection } from './connection';

const PREFIX = 'insert into stan_messages (channel_id, seq, ts, size, data) values ';
/** Per row besides the hex blob: the numbers, commas, parentheses, X'' quotes. */
const ROW_TEXT = 80;
/** Room kept free below max_allowed_packet (packet header, the prefix). */
const SLACK = 4096;
/**
 * Statements of at most this many bytes even when max_allowed_packet allows more: a statement
 * is held three times while it is sent (the hex string, the joined text, the packet); a
 * 20,000-row batch of 128-byte messages is then 4 statements instead of 1, which cost nothing
 * measurable (1,000,000 messages: 14.6 s with 2 MB statements, 20–33 s with 8 MB ones on the
 * loaded machine; peak RSS the same, ~235 MB).
 */
const MAX_STATEMENT_BYTES = 2 << 20;

/** The INSERT statements for `rows`: every statement at most `maxStatementBytes` long, at least one row each. */
export function wideInserts(channelID: number, rows: BulkMessages, maxStatementBytes: number): string[] {
  const budget = Math.min(maxStatementBytes, MAX_STATEMENT_BYTES) - SLACK - PREFIX.length;
  const out: string[] = [];
  let i = 0;
  while (i < rows.count) {
    const from = i;
    const startByte = i === 0 ? 0 : rows.ends[i - 1];
    let size = 0;
    while (i < rows.count) {
      const cost = 2 * (rows.ends[i] - (i === 0 ? 0 : rows.ends[i - 1])) + ROW_TEXT;
      if (i > from && size + cost > budget) break;
      size += cost;
      i++;
    }
    const hex = rows.data.toString('hex', startByte, rows.ends[i - 1]);
    const parts = new Array<string>(i - from);
    let start = startByte;
    for (let r = from; r < i; r++) {
      const end = rows.ends[r];
      parts[r - from] = `(${channelID},${rows.seqs[r]},${rows.timestamps[r]},${end - start},X'${hex.slice(2 * (start - startByte), 2 * (end - startByte))}')`;
      start = end;
    }
    out.push(PREFIX + parts.join(','));
  }
  return out;
}

interface MysqlConnection {
  query(sql: string, cb: (err: Error | null) => void): unknown;
}

/** Runs the wide INSERTs on the transaction's connection (mysql2, callback API). */
export async function insertWide(trx: Knex.Transaction, channelID: number, rows: BulkMessages, maxStatementBytes: number): Promise<void> {
  const conn = await trxConnection<MysqlConnection>(trx);
  for (const sql of wideInserts(channelID, rows, maxStatementBytes)) {
    await new Promise<void>((resolve, reject) => conn.query(sql, (err) => (err === null ? resolve() : reject(err))));
  }
}
