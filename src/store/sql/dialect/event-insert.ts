/**
 * Event rows as the dialect's direct driver writes them (DirectTxDriver.insertEvents, one
 * implementation per database: postgres-direct.ts, mysql-direct.ts), used two ways:
 *
 *  - inside a group commit's transaction (direct-tx.ts), on the writer pool's connection;
 *  - a start-up's first commits without Knex: a batch of event rows only (a client's
 *    registration, a subscription) as one multi-row INSERT, autocommitted (one statement:
 *    all or none), on the store's reader pool (PostgreSQL, MySQL/MariaDB; the FILE store has
 *    its own inline writer, sqlite-inline.ts).
 *
 * Why the second: the first connect of a start-up is answered once its registration is
 * committed, and through Knex that commit first initialised Knex's modules (lodash, tarn, the
 * query builder: CPU on the way to the first answer, and their code in every start-up's code
 * cache) and opened the writer pool's connection. The adapter offers this path only until Knex
 * is made (open.ts); Knex is then warmed in the background, and every later batch takes the
 * usual way (the FT fence, message rows, deletes, retries always do: batch-writer.ts).
 */
import type { DirectTxDriver, EventRowValues } from './types';

/** Writes event rows in one autocommitted statement; their IDs follow the rows' order. */
export type DirectEventInsert = (rows: readonly EventRowValues[]) => Promise<void>;

/** Larger event batches take the usual way (a start-up's are a few rows). */
export const DIRECT_EVENT_MAX_ROWS = 64;

/** The event rows in order, at most `perInsert` per statement, on `conn` (DirectTxDriver's). */
export async function insertEventRows(driver: DirectTxDriver, conn: unknown, events: readonly EventRowValues[], perInsert: number): Promise<void> {
  for (let k = 0; k < events.length; k += perInsert) {
    const n = Math.min(perInsert, events.length - k);
    const values = new Array<number | Buffer | null>(3 * n);
    for (let r = 0; r < n; r++) {
      const e = events[k + r];
      values[3 * r] = e.kind;
      values[3 * r + 1] = e.channel_id;
      values[3 * r + 2] = e.body;
    }
    await driver.insertEvents(conn, n, values);
  }
}

/**
 * A start-up's first commits: the driver's event INSERT on `pool` without BEGIN (the pool
 * runs it on one of its connections, autocommitted). `pool` answers the driver's query call
 * as its connections do (pg's Pool: `query(config)`; mysql2's callback Pool: `query(sql,
 * values, cb)`). At most DIRECT_EVENT_MAX_ROWS rows: one statement.
 */
export function directEventInsert(driver: DirectTxDriver, pool: unknown): DirectEventInsert {
  return (rows) => insertEventRows(driver, pool, rows, DIRECT_EVENT_MAX_ROWS);
}
