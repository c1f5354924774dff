/**
 * PostgreSQL: the group commit's write transaction on the pooled `pg` Client itself
 * (DirectTxDriver, direct-tx.ts): BEGIN and COMMIT as simple queries, the event rows as one
 * parameterized multi-row INSERT (what Knex's query builder compiled them to), the message
 * rows as before (postgres-rows.ts: COPY binary, or a prepared INSERT for a few rows).
 */
import { writePgMessageRowsOn } from './postgres-rows';
import type { DirectTxDriver } from './types';
import type { FenceText } from '../../contract';

interface PgSimpleClient {
  query(text: string): Promise<PgResult | PgResult[]>;
  query(q: { text: string; values: Array<number | Buffer | null> }): Promise<unknown>;
}

/** Statement texts per row count, for the counts seen most (a batch's few progress events). */
const EVENT_TEXTS_CACHED = 64;
const eventTexts: string[] = [];

function eventInsert(n: number): string {
  const cached = eventTexts[n];
  if (cached !== undefined) return cached;
  const tuples = new Array<string>(n);
  for (let r = 0; r < n; r++) tuples[r] = `($${3 * r + 1},$${3 * r + 2},$${3 * r + 3})`;
  const text = `insert into stan_events (kind, channel_id, body) values ${tuples.join(',')}`;
  if (n < EVENT_TEXTS_CACHED) eventTexts[n] = text;
  return text;
}

interface PgResult {
  rowCount: number | null;
}

export const pgDirectTx: DirectTxDriver = {
  async run(conn: unknown, sql: string): Promise<void> {
    await (conn as PgSimpleClient).query(sql);
  },
  async insertEvents(conn: unknown, count: number, values: Array<number | Buffer | null>): Promise<void> {
    await (conn as PgSimpleClient).query({ text: eventInsert(count), values });
  },
  writeRows: (conn, rows, data) => writePgMessageRowsOn(conn, rows, data),
  /**
   * One simple query, `BEGIN; <guard>; <fence UPDATE>` (values written in by Knex's
   * escaping): one round trip instead of three. PostgreSQL runs a simple query's statements
   * in order and stops at the first error; after an explicit BEGIN the transaction stays open
   * when the query ends. pg answers a multi-statement query with one result per statement.
   */
  async fencedBegin(conn: unknown, fence: FenceText): Promise<boolean> {
    const text = fence.guard === undefined ? `BEGIN; ${fence.literal}` : `BEGIN; ${fence.guard}; ${fence.literal}`;
    const res = await (conn as PgSimpleClient).query(text);
    const last = Array.isArray(res) ? res[res.length - 1] : res;
    return last?.rowCount === 1;
  },
};
