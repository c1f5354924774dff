/**
 * The FILE store's WAL checkpoints, run by the write thread when it is idle instead of inside
 * one of its COMMITs every 1,000 pages.
 *
 * SQLite's automatic checkpoint (`wal_autocheckpoint`, 1,000 WAL pages) runs inside the COMMIT
 * that crosses the mark: it copies the WAL's pages into the database file and syncs it while
 * the transaction's answer and every later commit wait (47 checkpoints of 5-56 ms, ~11 ms
 * mean, in 600,000 messages). Its cost is the I/O, wherever it runs: the database file
 * receives ~50% more bytes than the WAL. So the write thread turns it off on its connection
 * (`wal_autocheckpoint = 0`) and checkpoints
 * * when it has been idle for IDLE_MS (no answer sent meanwhile): a burst of publishes is
 *   written to the WAL only, and copied once it is over;
 * * at BOUND_PAGES frames in the WAL even while busy (its real length, whoever wrote them:
 *   sqlite-wal-frames.ts), right after the answers being sent (none waits for it; later ones
 *   wait for it as they did inside COMMIT): the WAL stays bounded under a load that never
 *   pauses (~70 MB of WAL file).
 * A WAL file is reused from its start once a checkpoint copied all of it (SQLite never
 * shrinks it: journal_size_limit is left at -1), so after the first burst of a server's life
 * the WAL's flushes no longer change the file's size. Measured in docs/performance.md ("FILE,
 * round 6", V4): in a sustained burst on a server whose WAL file had grown, 4 publishers +54%
 * and +26% (medians of 14 and 16 alternated pairs), 1 publisher +15% and 0%; in a fresh
 * store's first burst no consistent difference (4 publishers higher in 24 of 50 pairs); in a
 * burst that starts during the idle checkpoint of the one before, a loss (227k -> 183k msgs/s,
 * 4 publishers, 10 pairs).
 *
 * Durability is unchanged: a checkpoint only copies pages the WAL already holds, and SQLite
 * reuses the WAL only after a checkpoint copied and synced all of it; a crash at any point of
 * a checkpoint leaves the WAL as it was, replayed at the next open
 * (test/int/sqlite-checkpoint.int.test.ts kills a process while it checkpoints). What a larger
 * WAL costs: the replay after a crash reads up to the bound, and the disk holds it.
 *
 * The other connections keep SQLite's automatic checkpoint, with marks that never copy a burst
 * on the event loop:
 * * the main thread's connection (small commits written inline: sync publishing; snapshots) at
 *   SQLite's default (1,000 pages) while the thread has nothing uncopied, raised to
 *   MAIN_MARK_BUSY from the moment a batch is handed to the thread until the thread tells it
 *   that a checkpoint copied that batch (sqlite-writer.ts). Raised for good (round 8's first
 *   build), a server whose traffic turned to sync publishes after a burst grew its WAL to
 *   ~130 MB: a checkpoint from another connection never lets the WAL start again from its
 *   beginning while commits keep arriving (SQLite restarts it only at a write that finds every
 *   frame copied), so the writer's own checkpoint must do it;
 * * an FT lease's connection (a renewal every 250 ms) at LEASE_MARK: with the default, a
 *   renewal's COMMIT during a burst copied the burst's pages on the event loop (renewals of
 *   20-89 ms measured); its few frames are copied by the main connection's next checkpoint or
 *   the thread's sweep (SWEEP_MS).
 */
import type BetterSqlite3 from 'better-sqlite3';

/** SQLite's page size for the store (the default; the store does not change it). */
const PAGE = 4096;
/**
 * A transaction's WAL pages: its rows' bytes fill ~1.7× as many pages (the rows, the table's
 * two indexes, pages half full after an index split) plus ~6 it rewrites each time (page 1, the
 * last leaves and the pages above them). Measured against SQLite's count at 1,000 estimated
 * pages: 976-1,166 (`stan-bench`, 1 and 4 publishers).
 */
const FIXED_PAGES = 6;
const BYTES_FACTOR = 1.7;

/** WAL frames (pages) at which a busy thread checkpoints anyway (~64 MB of frames). */
export const BOUND_PAGES = 16_000;
/** A thread that sent no answer for this long is idle: it checkpoints then. */
export const IDLE_MS = 50;
/**
 * Every this often an idle thread checkpoints whatever is in the WAL, its own frames or not: an
 * FT lease's renewals (LEASE_MARK) on a server that writes nothing else, a commit of the main
 * connection while its mark was raised. An idle FT server's WAL thus holds at most ~10 s of
 * renewals, copied with one database sync; nothing to copy costs SQLite a look at the WAL
 * index, no sync. An FT standby's thread sweeps the shared WAL too (its connection opens at the
 * thread's start: sqlite-write-worker.ts).
 */
export const SWEEP_MS = 10_000;
/** SQLite's own automatic checkpoint mark (pages): the main connection's while the thread has nothing uncopied. */
export const SQLITE_DEFAULT_MARK = 1000;
/** The main connection's mark while the thread has written pages no checkpoint copied yet. */
export const MAIN_MARK_BUSY = 2 * BOUND_PAGES;
/** An FT lease connection's mark: a bound should the thread stop, never reached while it runs. */
export const LEASE_MARK = 2 * BOUND_PAGES;

/** The estimated WAL pages a transaction of `bytes` row and event bytes writes. */
export function walPagesOf(bytes: number): number {
  return FIXED_PAGES + Math.ceil((bytes * BYTES_FACTOR) / PAGE);
}

/** An idle timer: `refresh` starts it again from now; it must not keep the thread alive. */
export interface IdleTimer {
  refresh(): void;
}
export type IdleTimerFactory = (fn: () => void, ms: number) => IdleTimer;

const unrefTimer: IdleTimerFactory = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
};

/** Turns SQLite's automatic checkpoint off on the write thread's connection (WalCheckpointer runs them). */
export function takeOverCheckpoints(db: Pick<BetterSqlite3.Database, 'pragma'>): void {
  db.pragma('wal_autocheckpoint = 0');
}

/** What `PRAGMA wal_checkpoint(PASSIVE)` answers (undefined: the connection is not open). */
export interface CheckpointResult {
  /** 1 when another connection's checkpoint or write lock kept it from running. */
  busy: number;
  /** Frames in the WAL. */
  log: number;
  /** Frames copied into the database so far (less than `log` when a reader still needs them). */
  checkpointed: number;
}

/** What the checkpointer works with, injected (the write thread's connection and queue). */
export interface CheckpointSeams {
  /**
   * Runs one PASSIVE checkpoint on the thread's connection and returns SQLite's answer
   * (undefined when it is not open, or when nothing may be written any more).
   */
  checkpoint(): CheckpointResult | undefined;
  /** Whether nothing is queued or held (the timers check it). */
  idle(): boolean;
  /** A checkpoint copied every frame of the WAL (the thread tells the main thread: sqlite-writer.ts). */
  copiedAll(): void;
  /**
   * Frames in the WAL now, whoever wrote them (sqlite-wal-frames.ts); undefined when unknown:
   * the bound then counts the thread's own estimated pages.
   */
  frames(): number | undefined;
}

/** The policy's numbers; the defaults are the measured ones (above). */
export interface CheckpointTuning {
  bound: number;
  idleMs: number;
  sweepMs: number;
  timers: IdleTimerFactory;
}

export class WalCheckpointer {
  /** Estimated pages the thread wrote since the last complete checkpoint. */
  private pages = 0;
  private timer: IdleTimer | undefined;
  private readonly sweep: IdleTimer;
  private readonly tuning: CheckpointTuning;

  constructor(
    private readonly seams: CheckpointSeams,
    tuning: Partial<CheckpointTuning> = {},
  ) {
    this.tuning = { bound: BOUND_PAGES, idleMs: IDLE_MS, sweepMs: SWEEP_MS, timers: unrefTimer, ...tuning };
    this.sweep = this.tuning.timers(() => this.onSweep(), this.tuning.sweepMs);
  }

  /** A transaction of `bytes` row and event bytes committed. */
  wrote(bytes: number): void {
    this.pages += walPagesOf(bytes);
  }

  /**
   * Answers were just sent: at the bound, the checkpoint runs now (they left first); else the
   * idle timer starts again. The bound is on the WAL's real length: a WAL that a complete
   * checkpoint could not start again from its beginning (another connection committed during
   * it) is checkpointed again after the next answers, copying only what came meanwhile: a short
   * checkpoint is what fits between another connection's commits (int test, a commit every
   * 10 ms: 67 MB against 214 MB with the bound on the thread's estimated pages; every 1 ms, an
   * extreme: 67-125 MB, and 107 MB with 450,000 rows when it first waited for 1,000 frames to
   * copy). A reviewer's simulation: ~4 checkpoints per start of the WAL, -4% transactions.
   */
  answered(): void {
    if ((this.seams.frames() ?? this.pages) >= this.tuning.bound) this.run();
    else this.arm();
  }

  private arm(): void {
    if (this.timer === undefined) this.timer = this.tuning.timers(() => this.onIdle(), this.tuning.idleMs);
    else this.timer.refresh();
  }

  private onIdle(): void {
    // Busy again (a batch queued or held): its answers start the timer again.
    if (this.pages > 0 && this.seams.idle()) this.run();
  }

  private onSweep(): void {
    if (this.seams.idle()) this.run();
    this.sweep.refresh();
  }

  private run(): void {
    let r: CheckpointResult | undefined;
    try {
      r = this.seams.checkpoint();
    } catch {
      // As for SQLite's own automatic checkpoint, whose failure COMMIT ignores: nothing is lost
      // (the WAL still holds every page and is not reused); tried again past half the bound, or
      // by the sweep, not every IDLE_MS while an I/O error lasts.
      this.pages = this.tuning.bound >> 1;
      return;
    }
    // No connection yet (nothing written by the thread), or nothing may be written any more.
    if (r === undefined) return;
    if (r.busy === 0 && r.checkpointed >= r.log) {
      this.pages = 0;
      this.seams.copiedAll();
      return;
    }
    // Kept from running (another connection checkpointing) or stopped short by a reader: tried
    // again once idle (the main connection's mark stays raised meanwhile), and past half the
    // bound while busy rather than a whole bound later.
    this.pages = this.tuning.bound >> 1;
    this.arm();
  }
}
