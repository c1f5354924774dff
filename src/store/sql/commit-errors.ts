/**
 * What a failed group commit means, per dialect: the one place that reads PostgreSQL SQLSTATEs,
 * MySQL/MariaDB error numbers and SQLite result codes for the commit loop.
 *
 *   - `transient`: the database is down, the connection broke, a deadlock or serialization
 *     failure, read-only during a failover, too many connections, a full disk… Retrying the
 *     same rows later works. Anything not recognised is transient too: retrying is what the
 *     store always did, so an unknown error never costs a message.
 *   - `refused`: the database refuses these rows (a CHECK or NOT NULL constraint, a trigger
 *     raising an error, a value out of range). Retrying the same rows fails forever, other
 *     rows may pass: the batch is split to find the rows refused.
 *   - `schema`: every write fails until someone changes the database (a table or column is
 *     missing, the server's user lost a privilege, the database file is read-only or
 *     corrupt). Splitting does not help; a database administrator must act.
 */
import type { DialectName } from './dialect';

export type CommitErrorKind = 'transient' | 'refused' | 'schema';

/** PostgreSQL SQLSTATE classes and codes (Appendix A of the PostgreSQL manual). */
const PG_REFUSED_CLASSES = new Set(['22', '23', '44']);
const PG_REFUSED_CODES = new Set(['P0001' /* raise_exception: RAISE EXCEPTION in a trigger */]);
const PG_SCHEMA_CLASSES = new Set(['28', '3D', '3F', '42']);

/** MySQL/MariaDB error numbers (server error reference). */
const MYSQL_REFUSED = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1216, 1217, 1451, 1452, // foreign key constraint fails
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED
  1292, // ER_TRUNCATED_WRONG_VALUE
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (incorrect string value)
  1406, // ER_DATA_TOO_LONG
  1644, // ER_SIGNAL_EXCEPTION: SIGNAL SQLSTATE '45000' in a trigger
  1690, // ER_DATA_OUT_OF_RANGE
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL 8)
  4025, // ER_CONSTRAINT_FAILED (MariaDB CHECK constraint)
]);
const MYSQL_SCHEMA = new Set([
  1044, // ER_DBACCESS_DENIED_ERROR
  1045, // ER_ACCESS_DENIED_ERROR
  1049, // ER_BAD_DB_ERROR
  1054, // ER_BAD_FIELD_ERROR (unknown column)
  1109, // ER_UNKNOWN_TABLE
  1142, // ER_TABLEACCESS_DENIED_ERROR (INSERT command denied)
  1143, // ER_COLUMNACCESS_DENIED_ERROR
  1146, // ER_NO_SUCH_TABLE
  1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
  1356, // ER_VIEW_INVALID
  1364, // ER_NO_DEFAULT_FOR_FIELD: a NOT NULL column without default was added
  1370, // ER_PROCACCESS_DENIED_ERROR (a trigger's routine)
]);

/**
 * SQLite extended result codes as better-sqlite3 names them. SQLITE_READONLY means the file
 * (or its directory) is not writable: an operator must fix it, unlike PostgreSQL's read-only
 * transactions during a failover. SQLITE_ERROR is SQLite's generic error for a statement
 * that cannot run: no such table, no such column.
 */
function sqliteKind(code: string): CommitErrorKind {
  if (code === 'SQLITE_CONSTRAINT' || code.startsWith('SQLITE_CONSTRAINT_') || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH') return 'refused';
  if (code === 'SQLITE_ERROR' || code === 'SQLITE_AUTH' || code === 'SQLITE_PERM' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return 'schema';
  }
  return 'transient';
}

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

/** The class of a failed write on `dialect` (see the module comment). */
export function classifyCommitError(dialect: DialectName, err: unknown): CommitErrorKind {
  const code = field(err, 'code');
  switch (dialect) {
    case 'postgres': {
      // pg sets `code` to the SQLSTATE for errors from the server; network errors carry
      // Node's codes (ECONNREFUSED…), which are not 5 characters of [0-9A-Z].
      if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return 'transient';
      if (PG_REFUSED_CODES.has(code) || PG_REFUSED_CLASSES.has(code.slice(0, 2))) return 'refused';
      if (PG_SCHEMA_CLASSES.has(code.slice(0, 2))) return 'schema';
      return 'transient';
    }
    case 'mysql': {
      const errno = field(err, 'errno');
      // mysql2 sets errno only for errors the server sent; its own (connection lost,
      // timeouts) have a string code and no server errno.
      if (typeof errno !== 'number' || field(err, 'sqlState') === undefined) return 'transient';
      if (MYSQL_REFUSED.has(errno)) return 'refused';
      if (MYSQL_SCHEMA.has(errno)) return 'schema';
      return 'transient';
    }
    case 'sqlite':
      return typeof code === 'string' ? sqliteKind(code) : 'transient';
  }
}

/**
 * The database's own words for a failed statement, without the statement Knex puts before
 * them (`<sql> - <message>`): what a publisher or an operator needs to read.
 */
export function databaseReason(err: unknown): string {
  const sqlMessage = field(err, 'sqlMessage');
  if (typeof sqlMessage === 'string' && sqlMessage !== '') return sqlMessage;
  const msg = err instanceof Error ? err.message : String(err);
  // Knex is configured with compileSqlOnError: false, so the prefix is our own SQL text,
  // which never contains " - ".
  const cut = /^(insert|update|delete|select|with)\b/i.test(msg) ? msg.indexOf(' - ') : -1;
  return cut >= 0 ? msg.slice(cut + 3) : msg;
}

/** Milliseconds between attempts while the store is failed (see SqlStore.commitLoop). */
export const FAILED_RETRY_MS = 2000;

/** The readiness reason and log text of a store that cannot write until someone acts. */
export function failedStoreReason(kind: 'schema' | 'unrefusable', err: unknown): string {
  const why = databaseReason(err);
  const retry = `the queued writes are retried every ${FAILED_RETRY_MS / 1000} s and go on once it works`;
  if (kind === 'schema') {
    return (
      `the database refuses the server's writes (${why}): a database administrator must restore the ` +
      `stan_* tables and columns or grant the server's user SELECT/INSERT/UPDATE/DELETE on them; ` +
      `publishes get an error meanwhile, ${retry}`
    );
  }
  return (
    `the database refuses a client/subscription state record (${why}), which the server cannot drop ` +
    `without losing that state: remove the constraint or trigger on stan_events that refuses it ` +
    `(or, if it refuses the retention deletes, the DELETE trigger on stan_messages); ` +
    `publishes get an error meanwhile, ${retry}`
  );
}

/** The PubAck error of a message the database refused (its row alone fails). */
export function refusedMessageReason(err: unknown): string {
  return (
    `message refused by the database, not stored: ${databaseReason(err)} ` +
    `(a constraint or trigger on stan_messages rejects it: change the message, or the constraint)`
  );
}
