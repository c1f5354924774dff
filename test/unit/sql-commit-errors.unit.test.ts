/**
 * Commit errors per dialect (src/store/sql/commit-errors.ts): the error shapes are those the
 * drivers produce (pg: SQLSTATE in `code`; mysql2: `errno` + `sqlState` for server errors;
 * better-sqlite3: extended result code names). Transient stays the default: an error we do
 * not know must never cost a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyCommitError, databaseReason, failedStoreReason, refusedMessageReason } from '../../src/store/sql/commit-errors';
import { FLUSH_FAILED_CODE, flushFailure } from '../../src/store/sql/flush-failure';

function err(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

test('PostgreSQL: SQLSTATE classes decide', () => {
  const pg = (code: string): string => classifyCommitError('postgres', err('x', { code }));
  // Refused rows: constraint violations, data exceptions, RAISE EXCEPTION in a trigger.
  for (const c of ['23514', '23502', '23503', '23505', '22001', '22P02', 'P0001', '44000']) assert.equal(pg(c), 'refused', c);
  // A DBA must act: undefined table/column, permission denied, database gone, password.
  for (const c of ['42P01', '42703', '42501', '3D000', '3F000', '28P01']) assert.equal(pg(c), 'schema', c);
  // Transient: connection, deadlock/serialization, read-only during failover, too many
  // connections, shutdown, statement timeout, disk full, internal errors.
  for (const c of ['08006', '08001', '40001', '40P01', '25006', '53300', '53100', '57P01', '57P03', '57014', '55P03', 'XX000']) {
    assert.equal(pg(c), 'transient', c);
  }
  // Network errors carry Node's codes; errors without a code (connection terminated).
  assert.equal(pg('ECONNREFUSED'), 'transient');
  assert.equal(classifyCommitError('postgres', new Error('Connection terminated unexpectedly')), 'transient');
  assert.equal(classifyCommitError('postgres', 'not an error'), 'transient');
});

test('MySQL/MariaDB: server error numbers decide; client-side errors are transient', () => {
  const my = (errno: number, sqlState = 'HY000'): string => classifyCommitError('mysql', err('x', { errno, sqlState, code: 'ER_X' }));
  for (const n of [4025, 3819, 1644, 1048, 1062, 1406, 1452, 1366]) assert.equal(my(n), 'refused', String(n));
  for (const n of [1146, 1054, 1142, 1143, 1044, 1045, 1049, 1364]) assert.equal(my(n), 'schema', String(n));
  // Deadlock, lock wait timeout, too many connections, read-only (failover), shutdown.
  for (const n of [1213, 1205, 1040, 1290, 1836, 1792, 1053, 1927]) assert.equal(my(n), 'transient', String(n));
  // mysql2's own errors (no server SQLSTATE): connection lost, refused.
  assert.equal(classifyCommitError('mysql', err('Connection lost', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true })), 'transient');
  assert.equal(classifyCommitError('mysql', err('connect ECONNREFUSED', { code: 'ECONNREFUSED', errno: -111 })), 'transient');
});

test('SQLite: result codes decide; a read-only or corrupt file needs an operator', () => {
  const lite = (code: string): string => classifyCommitError('sqlite', err('x', { code }));
  for (const c of ['SQLITE_CONSTRAINT_CHECK', 'SQLITE_CONSTRAINT_TRIGGER', 'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT', 'SQLITE_TOOBIG']) assert.equal(lite(c), 'refused', c);
  for (const c of ['SQLITE_ERROR', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_AUTH', FLUSH_FAILED_CODE]) assert.equal(lite(c), 'schema', c);
  for (const c of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_NOMEM', 'SQLITE_CANTOPEN']) assert.equal(lite(c), 'transient', c);
});

test("the database's reason without the statement Knex puts before it", () => {
  const sql = 'insert into stan_messages (channel_id, seq, ts, size, data) values ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)';
  const pgErr = err(`${sql} - new row for relation "stan_messages" violates check constraint "no_poison"`, { code: '23514' });
  assert.equal(databaseReason(pgErr), 'new row for relation "stan_messages" violates check constraint "no_poison"');
  // A reason that itself contains " - " is kept whole.
  assert.equal(databaseReason(err(`${sql} - trigger says: a - b`, {})), 'trigger says: a - b');
  assert.equal(databaseReason(err('Connection terminated - unexpectedly', {})), 'Connection terminated - unexpectedly');
  // mysql2 keeps the server's own text.
  assert.equal(databaseReason(err(`${sql} - CONSTRAINT x failed`, { sqlMessage: 'CONSTRAINT `no_poison` failed for `db`.`stan_messages`' })), 'CONSTRAINT `no_poison` failed for `db`.`stan_messages`');
});

test('the texts say what happened and what to do', () => {
  const e = err('insert into stan_messages values (?) - relation "stan_messages" does not exist', { code: '42P01' });
  assert.match(failedStoreReason('schema', e), /^the database refuses the server's writes \(relation "stan_messages" does not exist\): a database administrator must .*retried every 2 s/);
  assert.match(failedStoreReason('unrefusable', e), /client\/subscription state record .* cannot drop .* stan_events/);
  // A failed WAL flush names itself and the restart it needs, not a DBA's fix.
  const flush = Object.assign(new Error(flushFailure('/d/stan.db-wal', { message: 'EIO: i/o error, fdatasync', code: 'EIO' }).message), { code: FLUSH_FAILED_CODE });
  assert.match(failedStoreReason('schema', flush), /^the FILE store could not flush its write-ahead log \/d\/stan\.db-wal to disk \(EIO: i\/o error, fdatasync\).*restart the server.*publishes get an error meanwhile$/);
  assert.match(refusedMessageReason(err('x - violates check constraint "c"', {})), /^message refused by the database, not stored: x - violates check constraint "c" \(a constraint or trigger on stan_messages/);
});
