/**
 * A start-up's first commits without Knex: a batch of event rows only (a client's
 * registration, a subscription) as one multi-row INSERT, autocommitted (one statement: all or
 * none), on the store's reader pool (PostgreSQL, MySQL/MariaDB; the FILE store has its own
 * inline writer, sqlite-inline.ts).
 *
 * Why: the first connect of a start-up is answered once its registration is committed, and
 * through Knex that commit first initialised Knex's modules (lodash, tarn, the query
 * builder: CPU on the way to the first answer, and their code in every start-up's code cache)
 * and opened the writer pool's connection. The adapter offers this path only until Knex is
 * made (open.ts); Knex is then warmed in the background, and every later batch takes the
 * usual way (the FT fence, message rows, deletes, retries always do: batch-writer.ts).
 */
import type { EventRowValues } from './types';

/** Writes event rows in one autocommitted statement; their IDs follow the rows' order. */
export type DirectEventInsert = (rows: readonly EventRowValues[]) => Promise<void>;

/** Larger event batches take the usual way (a start-up's are a few rows). */
export const DIRECT_EVENT_MAX_ROWS = 64;

interface PgPoolLike {
  query(text: string, values: unknown[]): Promise<unknown>;
}

interface MysqlPoolLike {
  query(sql: string, values: unknown[]): Promise<unknown>;
}

function flatValues(rows: readonly EventRowValues[]): unknown[] {
  const out: unknown[] = [];
  for (const r of rows) out.push(r.kind, r.channel_id, r.body);
  return out;
}

/** PostgreSQL: `$n` parameters (bytea sent as binary by pg). */
export function pgEventInsert(pool: PgPoolLike): DirectEventInsert {
  return async (rows) => {
    const tuples = rows.map((_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(', ');
    await pool.query(`insert into stan_events (kind, channel_id, body) values ${tuples}`, flatValues(rows));
  };
}

/** MySQL/MariaDB: `?` parameters (mysql2's promise pool). */
export function mysqlEventInsert(pool: MysqlPoolLike): DirectEventInsert {
  return async (rows) => {
    const tuples = rows.map(() => '(?, ?, ?)').join(', ');
    await pool.query(`insert into stan_events (kind, channel_id, body) values ${tuples}`, flatValues(rows));
  };
}
