/**
 * MySQL/MariaDB: the group commit's message rows (batch-writer.ts) as prepared multi-row
 * INSERTs run with the binary protocol, so the blobs travel as raw bytes behind a length
 * instead of hex text that the driver builds and escapes (`?` by `?`) and the server parses
 * again. The COM_STMT_EXECUTE packet is our own (mysql-execute.ts), sent on the same mysql2
 * connection; mysql2's `execute` only when the driver lacks the command queue.
 *
 * A prepared statement is cached per connection and per row count (mysql2 keeps them, up to
 * maxPreparedStatements), and the first use of each costs a round trip to prepare it. So a
 * batch is cut into statements of a few sizes only: ROWS_PER_STEP-row multiples and one
 * remainder below ROWS_PER_STEP, at most MAX_ROWS rows each, at most
 * MAX_ROWS / ROWS_PER_STEP + ROWS_PER_STEP statement texts per connection.
 */
import type { Knex } from 'knex';
import { onConnection } from './connection';
import { canExecuteRaw, canPipelineRaw, eachStatement, executeRowsRaw, executeTransactionRaw } from './mysql-execute';
import type { MsgRowKey } from './types';

/** Rows per prepared statement at most (5 bind parameters each). */
const MAX_ROWS = 1024;
/** Statement sizes are multiples of this, plus one remainder statement below it. */
const ROWS_PER_STEP = 32;
/** Besides the blob: numbers, lengths, type bytes (binary protocol), per row. */
const ROW_OVERHEAD = 48;

interface MysqlConnection {
  execute(sql: string, values: Array<number | string | Buffer>, cb: (err: Error | null) => void): unknown;
}

const PREFIX = 'insert into stan_messages (channel_id, seq, ts, size, data) values ';
const texts = new Map<number, string>();

function insertText(n: number): string {
  let sql = texts.get(n);
  if (sql === undefined) {
    sql = PREFIX + new Array<string>(n).fill('(?,?,?,?,?)').join(',');
    texts.set(n, sql);
  }
  return sql;
}

/**
 * Row counts of the statements for `data` (in order): multiples of ROWS_PER_STEP up to
 * MAX_ROWS, each within `maxStatementBytes`, then the remainder.
 */
export function statementSizes(data: readonly Buffer[], maxStatementBytes: number): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < data.length) {
    let n = 0;
    let bytes = 0;
    while (i + n < data.length && n < MAX_ROWS) {
      const cost = data[i + n].length + ROW_OVERHEAD;
      if (n > 0 && bytes + cost > maxStatementBytes) break;
      bytes += cost;
      n++;
    }
    // Cut to a multiple of the step unless that leaves nothing (the remainder statement).
    if (n >= ROWS_PER_STEP) n -= n % ROWS_PER_STEP;
    out.push(n);
    i += n;
  }
  return out;
}

/**
 * Runs the prepared INSERTs on `trx`'s connection; without `trx`, autocommitted on a pooled
 * connection when one statement holds them all, else in a transaction of their own (the rows
 * of a batch are stored all or none).
 */
export async function executeMessageRows(knex: Knex, trx: Knex.Transaction | undefined, rows: readonly MsgRowKey[], data: readonly Buffer[], maxStatementBytes: number): Promise<void> {
  const sizes = statementSizes(data, maxStatementBytes);
  if (trx !== undefined || sizes.length === 1) return onConnection<MysqlConnection, void>(knex, trx, (conn) => executeSized(conn, sizes, rows, data));
  // Several statements, all or none: autocommit off and the statements in one round trip, then COMMIT
  // (mysql-execute.ts executeTransactionRaw); Knex's transaction where that cannot be done.
  const pipelined = await onConnection<unknown, boolean>(knex, undefined, async (conn) => {
    if (!canPipelineRaw(conn)) return false;
    await executeTransactionRaw(conn, sizes, insertText, rows, data);
    return true;
  });
  if (!pipelined) await knex.transaction((t) => executeMessageRows(knex, t, rows, data, maxStatementBytes));
}

/** The same inside the transaction open on a raw connection (direct-tx.ts). */
export function executeMessageRowsOn(conn: unknown, rows: readonly MsgRowKey[], data: readonly Buffer[], maxStatementBytes: number): Promise<void> {
  return executeSized(conn as MysqlConnection, statementSizes(data, maxStatementBytes), rows, data);
}

async function executeSized(conn: MysqlConnection, sizes: readonly number[], rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  if (canExecuteRaw(conn)) {
    await eachStatement(sizes, (from, n) => executeRowsRaw(conn, insertText(n), rows, data, from, n));
    return;
  }
  let from = 0;
  for (const n of sizes) {
    await executeValues(conn, insertText(n), rows, data, from, n);
    from += n;
  }
}

/** The same statement through mysql2's `execute` (a driver without the command queue). */
function executeValues(conn: MysqlConnection, sql: string, rows: readonly MsgRowKey[], data: readonly Buffer[], from: number, n: number): Promise<void> {
  const values = new Array<number | string | Buffer>(5 * n);
  for (let k = 0; k < n; k++) {
    const m = rows[from + k];
    values[5 * k] = m.channel_id;
    values[5 * k + 1] = m.seq;
    // As text: the value stored is then the one the text INSERTs (the import's, a retry's)
    // store for the same double (its shortest decimal form), not the double's exact value.
    values[5 * k + 2] = String(m.ts);
    values[5 * k + 3] = m.size;
    values[5 * k + 4] = data[from + k];
  }
  return new Promise<void>((resolve, reject) => conn.execute(sql, values, (err) => (err === null ? resolve() : reject(err))));
}
