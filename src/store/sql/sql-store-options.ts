/** The SQL store's options (sql-store.ts), set by the store factory (src/store/open-store.ts). */
import type { StoreLimits } from '../../config/options';
import type { PayloadCipher } from '../crypto';
import type { SealPoolOptions } from '../seal-pool';
import type { DialectAdapter } from './dialect';

export interface SqlStoreOptions {
  type: 'SQL' | 'FILE';
  clusterID: string;
  limits: StoreLimits;
  /** Max message rows per transaction (io_batch_size); 0 = unbounded. */
  maxBatchRows: number;
  /** Max rows per multi-row INSERT (sql_bulk_insert_limit); 0 = as many as the dialect allows. */
  bulkInsertLimit: number;
  /** io_sleep_time in microseconds: wait this long for a batch to fill before committing. */
  ioSleepMicros: number;
  /**
   * Encryption at rest (src/store/crypto.ts): message rows are sealed with it when it is
   * encrypting, and every row read is opened with it (plaintext rows pass). Undefined: rows
   * are written in plaintext and an encrypted row read is an error naming the fix.
   */
  cipher?: PayloadCipher;
  /** The sealing workers (size, how a worker is started): see src/store/seal-pool.ts. */
  sealPool?: SealPoolOptions;
  /**
   * Group-commit transactions in flight at most (commit-flights.ts): `--sql_commit_depth`
   * (src/config/sql-commit-depth.ts; the store factory passes it for `-store sql` only). Default:
   * see defaultCommitDepth.
   */
  commitDepth?: number;
  now?: () => number;
}

/**
 * Batches in flight at most by default.
 *
 * PostgreSQL 1: one transaction at a time did better than two in every measurement made
 * (docs/performance.md, "Commit depth as an option"). Quiet machine (sixth session), depth
 * 2 → 1, msgs/s (server CPU µs/msg, peak RSS): async 76k (9.7, 102 MB) → 86k (7.8, 98 MB),
 * 4 publishers 85k (8.7, 140 MB) → 93k (7.6, 100 MB), pub+sub 112k (13.3) → 122k (12.5). Seventh
 * session, load 7–19, medians of 6 alternated runs: CPU per message async 10.9 → 8.3 µs, pub+sub
 * 14.7 → 13.8, 4 publishers 8.4 → 7.2; peak RSS async 128 → 99 MB, 4 publishers 141 → 107 MB
 * (msgs/s within the noise of that load). With one in flight the batches grow (fewer COMMITs,
 * COPYs and PubAck flushes per message): the round trip a second transaction hides costs less
 * than the second transaction does.
 *
 * MySQL/MariaDB 1 since the ninth session (was 2). With one transaction in flight a batch of
 * message rows alone takes batch-writer.ts's path without a transaction before it: its
 * statements written at once in one transaction, then COMMIT (mysql-rows.ts, two round trips), as
 * PostgreSQL's takes one COPY; with two, every batch launched behind another is a direct
 * transaction of a round trip per statement. Ninth session, the same build alternated, load
 * 0.1–0.9 (docs/performance.md, "MariaDB, round 2"): async 109–113k (5.4–5.8 µs/msg) at depth
 * 1 against 91–100k (6.5–7.0) at 2, 4 publishers 127–146k (4.1–5.0) against 111–112k (6.0).
 * Before (sixth and seventh sessions, the rows in a transaction either way) depth 1 was mixed
 * on the quiet machine and better under load.
 *
 * SQLite (FILE): with a write thread SQLITE_THREAD_DEPTH (the thread commits the next batch
 * right after the one before, without waiting for the main thread's round trip, and writes
 * chained batches queued together in one transaction: sqlite-write-worker.ts), without one 1
 * (one connection, one transaction at a time). `--sql_commit_depth` does not apply to it.
 */
export function defaultCommitDepth(adapter: Pick<DialectAdapter, 'name' | 'writeThread'>): number {
  if (adapter.name === 'postgres' || adapter.name === 'mysql') return 1;
  return adapter.writeThread !== undefined ? SQLITE_THREAD_DEPTH : 1;
}

/**
 * Batches handed to the SQLite write thread and not answered yet, at most. 2 and 8 measured
 * alike on a quiet machine; under load (8-11) 2 did better (docs/performance.md, "FILE, round
 * 2"): each batch handed over costs its packing, a postMessage and a reply on the main thread.
 */
export const SQLITE_THREAD_DEPTH = 2;
