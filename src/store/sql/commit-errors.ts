/**
 * What a failed group commit means, and what the publishers and the operator are told. The
 * codes of each database (PostgreSQL SQLSTATEs, MySQL/MariaDB error numbers, SQLite result
 * codes) are read by its dialect (dialect/*.ts, classifyCommitError).
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
import { dialectFor, type CommitErrorKind, type DialectName } from './dialect';
import { errorText } from '../../errors';
import { FLUSH_FAILED_CODE } from './flush-failure';

export type { CommitErrorKind };

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

/** The class of a failed write on `dialect` (see the module comment; the codes are in dialect/). */
export function classifyCommitError(dialect: DialectName, err: unknown): CommitErrorKind {
  return dialectFor(dialect).classifyCommitError(err);
}

/**
 * The database's own words for a failed statement, without the statement Knex puts before
 * them (`<sql> - <message>`): what a publisher or an operator needs to read.
 */
export function databaseReason(err: unknown): string {
  const sqlMessage = field(err, 'sqlMessage');
  if (typeof sqlMessage === 'string' && sqlMessage !== '') return sqlMessage;
  const msg = errorText(err);
  // Knex is configured with compileSqlOnError: false, so the prefix is our own SQL text,
  // which never contains " - ".
  const cut = /^(insert|update|delete|select|with)\b/i.test(msg) ? msg.indexOf(' - ') : -1;
  return cut >= 0 ? msg.slice(cut + 3) : msg;
}

/** Milliseconds between attempts while the store is failed (see SqlStore.commitLoop). */
export const FAILED_RETRY_MS = 2000;

/** The readiness reason and log text of a store that cannot write until someone acts. */
export function failedStoreReason(kind: 'schema' | 'unrefusable', err: unknown): string {
  // Says itself what happened and what to do (restart; no retry helps).
  if (field(err, 'code') === FLUSH_FAILED_CODE) return `${errorText(err)}; publishes get an error meanwhile`;
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
