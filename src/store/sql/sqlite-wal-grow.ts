/**
 * The FILE store's WAL file grown once, by the write thread as it starts (at store open), ahead
 * of the first burst of publishes.
 *
 * Why: SQLite deletes the WAL file when the last connection closes, so every start begins with
 * an empty one, and during a server's first burst the file grows with every transaction. Each
 * WAL flush (`fdatasync`, sqlite-wal-sync.ts) then also commits the file's new size and block
 * allocation (an ext4 journal commit). Measured (docs/performance.md, "FILE, round 8"): a closed
 * loop of 400 commits of 256 rows, each flushed, 395k rows/s on a growing WAL against 540k on a
 * WAL grown beforehand to 32 MB; stan-bench on a fresh store (100,000 messages), the thread
 * started at open with the checkpoints of sqlite-checkpoint.ts, 10 alternated pairs: without
 * growing async 162k / 4 publishers 230k msgs/s, grown to 16 MB 169k / 233k, 32 MB 174k / 238k,
 * 48 MB 176k / 234k; main 157k / 200k. After the first burst the file
 * keeps its size (journal_size_limit is -1: SQLite never shrinks it; the idle checkpoint lets
 * the next burst reuse it from its start), so only the start's first ~32 MB gain.
 *
 * How, by SQLite itself (nothing writes its file from outside): one transaction creates a
 * scratch table and inserts one zero blob of the missing size with a 16-page cache, so that
 * its pages spill to the WAL as uncommitted frames; it is then ROLLED BACK. Frames after the
 * last commit frame are ignored by readers and by recovery (checked by the int test: a process
 * killed mid-burst on a grown WAL loses no answered row and passes integrity_check), and later
 * commits write from the last committed frame on, over them: the file keeps its size. The
 * grown region is then flushed once (`fdatasync`), so that the first burst's first flush does
 * not write those 32 MB. Cost, on the write thread beside the rest of the start-up: ~25 ms of
 * writes + ~25 ms of flush for 32 MB (the first answered connect +8-10 ms, its server CPU
 * +13-20 ms, thread start included). A failure (disk full, a lock held for longer than the busy
 * timeout) is ignored: growing is only ahead of time what the first burst would do anyway.
 */

/** The WAL file's size the thread grows it to at its start (32 MB: see docs/performance.md, "FILE, round 8"). */
export const WAL_GROWTH_BYTES = 32 << 20;

/** What growing needs, injected (the thread's connection and the WAL file). */
export interface WalGrowthSeams {
  /** The WAL file's size now (0 if it does not exist). */
  size(): number;
  /** Writes about `bytes` of uncommitted frames into the WAL, then rolls them back. */
  spill(bytes: number): void;
  /** Flushes the WAL file (fdatasync). */
  sync(): void;
}

/**
 * Grows the WAL file to `target` bytes when it is smaller; returns the bytes it asked for
 * (0: nothing to do, or growing failed).
 */
export function growWal(seams: WalGrowthSeams, target = WAL_GROWTH_BYTES): number {
  let missing: number;
  try {
    missing = target - seams.size();
    if (missing <= 0) return 0;
    seams.spill(missing);
    seams.sync();
  } catch {
    return 0;
  }
  return missing;
}

/** The SQL of `spill` on a better-sqlite3 connection (a scratch table that the rollback removes). */
export interface SpillConnection {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
  prepare(source: string): { run(...params: number[]): unknown };
}

/** Writes `bytes` of uncommitted WAL frames on `db` and rolls them back (see the module comment). */
export function spillAndRollBack(db: SpillConnection, bytes: number): void {
  const cache = db.pragma('cache_size', { simple: true }) as number;
  db.pragma('cache_size = 16');
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec('CREATE TABLE stan_wal_growth (b BLOB)');
      db.prepare('INSERT INTO stan_wal_growth VALUES (zeroblob(?))').run(bytes);
    } finally {
      db.exec('ROLLBACK');
    }
  } finally {
    db.pragma(`cache_size = ${cache}`);
  }
}
