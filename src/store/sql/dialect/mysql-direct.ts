/**
 * MySQL/MariaDB: the group commit's write transaction on the pooled mysql2 connection itself
 * (DirectTxDriver, direct-tx.ts): BEGIN and COMMIT as plain queries, the event rows as one
 * multi-row INSERT formatted by the driver (what Knex's query builder sent), the message rows
 * as before (mysql-rows.ts: prepared statements, binary protocol).
 */
import { executeMessageRowsOn } from './mysql-rows';
import type { DirectTxDriver } from './types';

interface MysqlQueryConnection {
  query(sql: string, values: Array<number | Buffer | null>, cb: (err: Error | null) => void): unknown;
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

export const mysqlDirectTx: DirectTxDriver = {
  run: (conn, sql) => query(conn, sql, []),
  insertEvents: (conn, count, values) => query(conn, eventInsert(count), values),
  writeRows: executeMessageRowsOn,
};
