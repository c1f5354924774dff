/** SQLite (`-store file`): result codes, julianday('now'), compound-SELECT limit. */
import { FLUSH_FAILED_CODE } from '../flush-failure';
import { insertPrepared } from './sqlite-bulk';
import { errField, type CommitErrorKind, type Dialect } from './types';

/**
 * SQLite extended result codes as better-sqlite3 names them. SQLITE_READONLY means the file
 * (or its directory) is not writable: an operator must fix it, unlike PostgreSQL's read-only
 * transactions during a failover. SQLITE_ERROR is SQLite's generic error for a statement
 * that cannot run: no such table, no such column.
 */
function kindOf(code: string): CommitErrorKind {
  if (code === 'SQLITE_CONSTRAINT' || code.startsWith('SQLITE_CONSTRAINT_') || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH') return 'refused';
  if (code === FLUSH_FAILED_CODE || code === 'SQLITE_ERROR' || code === 'SQLITE_AUTH' || code === 'SQLITE_PERM' || code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return 'schema';
  }
  return 'transient';
}

export const sqlite: Dialect = {
  name: 'sqlite',
  // Timestamps are written and bound the same way (as numbers or their decimal text).
  tsBound: (ts) => ts,
  maxParams: 32_766,
  /**
   * SQLite's default SQLITE_MAX_COMPOUND_SELECT (500): Knex writes a multi-row INSERT there as
   * `INSERT … SELECT … UNION ALL SELECT …`, one compound term per row, and a batch of more
   * than 500 rows failed with "too many terms in compound SELECT" — and, being requeued
   * whole, failed again on every retry, stalling the store for good.
   */
  maxRowsPerInsert: 500,
  insertIgnoreSuffix: ' on conflict (channel_id, seq) do nothing',
  // one writer
  bulkLanes: 1,
  bulkInsertMessages: (trx, channelID, rows) => insertPrepared(trx, channelID, rows),
  nowMs: "(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
  // Locks die with a frozen process only: nothing to set.
  idleTxGuard: () => Promise.resolve(undefined),
  classifyCommitError(err: unknown): CommitErrorKind {
    const code = errField(err, 'code');
    return typeof code === 'string' ? kindOf(code) : 'transient';
  },
};
