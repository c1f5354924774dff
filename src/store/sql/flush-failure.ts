/**
 * A failed flush of the FILE store's write-ahead log (sqlite-wal-sync.ts): the store stops
 * acknowledging writes until the server is restarted.
 *
 * Why for good, and not retried like a transient error: after a failed fdatasync the kernel
 * may have dropped the pages it could not write and marked them clean, so a later flush
 * "succeeds" without them, and SQLite's WAL recovery stops at the first frame whose checksum
 * chain breaks, discarding every later commit too. Neither a retried batch (its rows are
 * still visible in the page cache, so the retry skips them) nor any later commit can be
 * acknowledged as durable. A restart recovers from what really is on disk. PostgreSQL stops
 * on a failed fsync for the same reason.
 */
export const FLUSH_FAILED_CODE = 'STAN_WAL_FLUSH_FAILED';

/** The error every write is answered with once a flush failed (code: FLUSH_FAILED_CODE). */
export function flushFailure(walFile: string, cause: { message: string; code?: string }): { message: string; code: string } {
  const why = cause.code !== undefined && !cause.message.includes(cause.code) ? `${cause.code}: ${cause.message}` : cause.message;
  return {
    code: FLUSH_FAILED_CODE,
    message:
      `the FILE store could not flush its write-ahead log ${walFile} to disk (${why}): what was written since ` +
      `the last successful flush may not be on disk, so no write is acknowledged any more; check the disk ` +
      `(space, errors in the kernel log), then restart the server: it recovers from what is on disk`,
  };
}
