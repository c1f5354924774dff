/**
 * Reads of the recovery (and of the warm follower, and the /readyz probe) as plain SQL on the
 * reader connection the store opened anyway (DialectAdapter.rawRows), without Kysely.
 *
 * Why: a restart's only statements before it serves are these reads and the first connect's
 * commit; through Kysely they made every start-up initialise Kysely's modules and compile
 * their code (its code cache included) for a few SELECTs. The statements are the same text
 * on PostgreSQL, MySQL/MariaDB and SQLite (standard SQL, LIMIT, lower-case names that no
 * dialect reserves), and the drivers return the same values Kysely returned (Kysely does not
 * convert values: BIGINT as number or string, blobs as Buffer, read with num()/toBuffer()).
 *
 * Their only values are integers of our own (event IDs, channel IDs, sequences, limits),
 * written into the text after a check that they are safe integers: no user text ever reaches
 * a statement here.
 */
import type { DialectAdapter } from './dialect';

/** Rows of one statement without parameters. */
export type PlainRows = (sql: string) => Promise<unknown[]>;

/** The adapter's reader without the query builder, or the same statement through Kysely where it has none. */
export function plainRows(adapter: Pick<DialectAdapter, 'rawRows' | 'db'>): PlainRows {
  const raw = adapter.rawRows;
  if (raw !== undefined) return raw;
  return async (text) => {
    const { sql } = require('kysely') as typeof import('kysely');
    return (await sql.raw(text).execute(adapter.db)).rows as unknown[];
  };
}

/** `n` as SQL text; throws on anything but a safe integer (never reached with our own values). */
export function sqlInt(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not an integer for a statement: ${String(n)}`);
  return String(n);
}
