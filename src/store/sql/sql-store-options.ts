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
 * Batches in flight at most by default: 2 on PostgreSQL and MySQL/MariaDB (the writer pool's
 * two connections); on SQLite (FILE) with a write thread SQLITE_THREAD_DEPTH (the thread
 * commits the next batch right after the one before, without waiting for the main thread's
 * round trip, and writes chained batches queued together in one transaction:
 * sqlite-write-worker.ts), without one 1 (one connection, one transaction at a time).
 */
export function defaultCommitDepth(adapter: Pick<DialectAdapter, 'name' | 'writeThread'>): number {
  if (adapter.name !== 'sqlite') return 2;
  return adapter.writeThread !== undefined ? SQLITE_THREAD_DEPTH : 1;
}

/**
 * Batches handed to the SQLite write thread and not answered yet, at most. 2 and 8 measured
 * alike on a quiet machine; under load (8-11) 2 did better (docs/performance.md, "FILE, round
 * 2"): each batch handed over costs its packing, a postMessage and a reply on the main thread.
 */
export const SQLITE_THREAD_DEPTH = 2;
