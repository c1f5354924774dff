/**
 * PostgreSQL: the group commit's message rows (Dialect.writeMessageRows). A batch of a few rows
 * (a sync publisher's: one) is a named prepared INSERT run with the extended protocol; larger
 * batches go by COPY binary (postgres-copy.ts).
 *
 * Why not COPY for one row: each COPY is a simple query the backend parses and plans again and
 * a copy-in state it sets up and tears down, and its CopyInResponse wakes the client once more
 * before the answer; a prepared INSERT is parsed once per connection and answered once
 * (BindComplete, CommandComplete, ReadyForQuery in one packet). Bytea parameters travel in
 * binary (format code 1), so nothing is hex-encoded either. Its messages are framed by
 * postgres-insert.ts (one socket write, without pg's per-query objects). Measured on this
 * machine: docs/performance.md ("Sync publishing", and its round 3).
 */
import type { Knex } from 'knex';
import { onConnection } from './connection';
import { copyMessageRows, copyMessageRowsOn } from './postgres-copy';
import { runPreparedInsert } from './postgres-insert';
import type { MsgRowKey } from './types';

/** Batches of at most this many rows are one prepared INSERT (one statement name per count). */
export const PG_PREPARED_MAX_ROWS = 4;

const texts: string[] = [];

/** `insert … values ($1,…,$5), ($6,…)` for `n` rows, and its statement name. */
function insertStatement(n: number): { name: string; text: string } {
  let text = texts[n];
  if (text === undefined) {
    const tuples: string[] = [];
    for (let r = 0; r < n; r++) tuples.push(`($${5 * r + 1},$${5 * r + 2},$${5 * r + 3},$${5 * r + 4},$${5 * r + 5})`);
    text = `insert into stan_messages (channel_id, seq, ts, size, data) values ${tuples.join(',')}`;
    texts[n] = text;
  }
  return { name: `stan_msgs_ins_${n}`, text };
}

/** The message rows inside `trx`, or autocommitted on a pooled connection (one statement: all or none). */
export function writePgMessageRows(knex: Knex, trx: Knex.Transaction | undefined, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  if (rows.length > PG_PREPARED_MAX_ROWS) return copyMessageRows(knex, trx, rows, data);
  return onConnection<unknown, void>(knex, trx, (client) => insertPrepared(client, rows, data));
}

/** The same on a raw connection (direct-tx.ts: inside its open transaction). */
export function writePgMessageRowsOn(client: unknown, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  if (rows.length > PG_PREPARED_MAX_ROWS) return copyMessageRowsOn(client, rows, data);
  return insertPrepared(client, rows, data);
}

function insertPrepared(client: unknown, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  const { name, text } = insertStatement(rows.length);
  return runPreparedInsert(client, name, text, rows, data);
}
