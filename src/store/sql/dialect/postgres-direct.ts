/**
 * PostgreSQL: the group commit's write transaction on the pooled `pg` Client itself
 * (DirectTxDriver, direct-tx.ts): BEGIN and COMMIT as simple queries, the event rows as one
 * parameterized multi-row INSERT (what Knex's query builder compiled them to), the message
 * rows as before (postgres-rows.ts: COPY binary, or a prepared INSERT for a few rows).
 */
import { writePgMessageRowsOn } from './postgres-rows';
import type { DirectTxDriver } from './types';

interface PgSimpleClient {
  query(text: string): Promise<unknown>;
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

export const pgDirectTx: DirectTxDriver = {
  async run(conn: unknown, sql: string): Promise<void> {
    await (conn as PgSimpleClient).query(sql);
  },
  async insertEvents(conn: unknown, count: number, values: Array<number | Buffer | null>): Promise<void> {
    await (conn as PgSimpleClient).query({ text: eventInsert(count), values });
  },
  writeRows: (conn, rows, data) => writePgMessageRowsOn(conn, rows, data),
};
