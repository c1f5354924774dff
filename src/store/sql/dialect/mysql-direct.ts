/**
 * MySQL/MariaDB: the group commit's write transaction on the pooled mysql2 connection itself
 * (DirectTxDriver, direct-tx.ts): BEGIN and COMMIT as plain queries, the event rows as one
 * multi-row INSERT formatted by the driver (what Knex's query builder sent), the message rows
 * as before (mysql-rows.ts: prepared statements, binary protocol).
 */
import { executeMessageRowsOn } from './mysql-rows';
import type { DirectTxDriver } from './types';
import type { FenceText } from '../../contract';

interface MysqlQueryConnection {
  query(sql: string, values: Array<number | string | Buffer | null>, cb: (err: Error | null, result?: { affectedRows?: number }) => void): unknown;
}

const EVENT_PREFIX = 'insert into stan_events (kind, channel_id, body) values ';
const EVENT_TEXTS_CACHED = 64;
const eventTexts: string[] = [];

function eventInsert(n: number): string {
  const cached = eventTexts[n];
  if (cached !== undefined) return cached;
  const text = EVENT_PREFIX + new Array<string>(n).fill('(?,?,?)').join(',');
  if (n < EVENT_TEXTS_CACHED) eventTexts[n] = text;
  return text;
}

function query(conn: unknown, sql: string, values: Array<number | Buffer | null>): Promise<void> {
  return new Promise<void>((resolve, reject) => (conn as MysqlQueryConnection).query(sql, values, (err) => (err === null ? resolve() : reject(err))));
}

/** A statement's affected row count. */
function update(conn: unknown, sql: string, values: Array<number | string>): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    (conn as MysqlQueryConnection).query(sql, values, (err, result) => (err === null ? resolve(result?.affectedRows ?? 0) : reject(err))),
  );
}

export const mysqlDirectTx: DirectTxDriver = {
  run: (conn, sql) => query(conn, sql, []),
  insertEvents: (conn, count, values) => query(conn, eventInsert(count), values),
  writeRows: executeMessageRowsOn,
  /**
   * BEGIN, the guard (MariaDB's session setting), the UPDATE: three round trips, as through
   * Knex (the writer's connections do not allow multi-statement queries), without Knex's
   * transaction objects.
   */
  async fencedBegin(conn: unknown, fence: FenceText): Promise<boolean> {
    await query(conn, 'BEGIN', []);
    if (fence.guard !== undefined) await query(conn, fence.guard, []);
    return (await update(conn, fence.sql, fence.bindings)) === 1;
  },
};
