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

/** Rows of one statement without parameters. */
export type PlainRows = (sql: string) => Promise<unknown[]>;

/**
 * Rows of several statements without parameters, sent in one round trip where the driver can
 * (PostgreSQL's simple-query protocol, MySQL/MariaDB multi-statement queries; SQLite, in
 * process, runs them one after the other): one array of rows per statement, in order. Rejects
 * with the database's error when any statement fails (the same error that statement alone
 * gives).
 */
export type PlainRowsMulti = (sqls: readonly string[]) => Promise<unknown[][]>;

/** `n` as SQL text; throws on anything but a safe integer (never reached with our own values). */
export function sqlInt(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not an integer for a statement: ${String(n)}`);
  return String(n);
}
