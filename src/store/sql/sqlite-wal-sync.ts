/**
 * The FILE store's commit made durable off the write path (file_sync): the write thread's
 * connection commits with `synchronous=NORMAL` (SQLite writes the transaction's WAL frames,
 * the commit frame last, and returns without an fsync), then this module `fdatasync`s the
 * WAL file on libuv's thread pool while the thread goes on writing the next transaction; a
 * transaction's answer (and so every PubAck of it) is held until an fdatasync that *started
 * after its COMMIT returned* has completed.
 *
 * Why this is `synchronous=FULL`'s guarantee: in WAL mode FULL does exactly one thing more
 * than NORMAL at a commit, an fsync of the WAL after its commit frame is written, before
 * COMMIT returns (checkpoints sync the WAL and the database in both modes). Here that fsync
 * is ours, after COMMIT returned, and the answer waits for it: when a PubAck is sent, the
 * frames of its transaction are on disk, as with FULL. What differs is only *when* the
 * thread may start the next transaction: with FULL it waited for the fsync; here the next
 * transaction's inserts run while the disk flushes (one flush often covers two). A
 * transaction written but not yet flushed is visible to readers of the database; nothing
 * that is not durable is ever *acknowledged*, and a crash before the flush loses it exactly
 * as a crash inside FULL's fsync would (the client had no PubAck).
 *
 * Measured (docs/performance.md, "FILE, round 4"): in isolation, 100,000 rows of 160 bytes,
 * a window of 512 rows split in two batches as the store does, 4 alternated runs at load 9:
 * FULL 66k / 73k / 64k / 78k rows/s, NORMAL + this flush 100k / 164k / 119k / 142k.
 *
 * Flush failures: the thread cannot know what reached the disk, and after a failed fdatasync
 * a later one proves nothing (the kernel may have dropped the unwritten pages and reports the
 * error once): the first failure stops the store's writes for good (flush-failure.ts). Every
 * transaction not yet known to be flushed is answered with the error, every later batch too,
 * nothing more is written; a restart recovers from what is on disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Starts one flush of everything written so far; `done` once it is on disk (or failed). */
export type FlushStarter = (done: (err: Error | null) => void) => void;

/**
 * Replies held in order until the WAL holding their transaction is flushed. A reply for a
 * transaction that wrote nothing (refused, fence lost, not written after an earlier
 * failure) needs no flush but still waits behind every earlier reply: answers stay in the
 * order of the batches, so PubAcks stay in log order.
 */
export class DurableReplies<R> {
  private readonly held: Array<{ reply: R; mark: number }> = [];
  /** Transactions committed so far, and the last of them a flush started after. */
  private written = 0;
  private covered = 0;
  /** Transactions known to be on disk. */
  private durable = 0;
  /**
   * Flushes in flight, in the order they started. A flush's transactions count as on disk only
   * once it *and every flush started before it* completed without error: the kernel reports
   * a write-back error to one fdatasync only, so a later flush that returns first proves
   * nothing about the pages an earlier one may still fail to write.
   */
  private readonly inFlight: Array<{ upTo: number; done: boolean }> = [];
  private idle: (() => void) | undefined;

  /**
   * `flush` undefined: no file_sync (NORMAL without a flush: answered at once, as before).
   * `onFailed` runs first when any flush fails (even one whose replies a later flush already
   * released: the kernel reports a write-back error to one fdatasync only, so the later one's
   * success proves nothing); then `failed` turns each held reply into its error reply.
   */
  constructor(
    private readonly send: (reply: R) => void,
    private readonly flush: FlushStarter | undefined,
    private readonly failed: (reply: R, err: Error) => R,
    private readonly onFailed: (err: Error) => void,
    private readonly maxFlushes = 2,
  ) {}

  /** A transaction committed: its reply is sent once a flush that started after this call completed. */
  committed(reply: R): void {
    this.written++;
    if (this.flush === undefined) this.durable = this.written;
    this.held.push({ reply, mark: this.written });
    this.release();
    this.startFlush();
  }

  /** A reply that wrote nothing: sent once every reply before it is. */
  answer(reply: R): void {
    this.held.push({ reply, mark: this.written });
    this.release();
  }

  /** Calls `fn` once nothing is held and no flush runs (now, if so). */
  whenIdle(fn: () => void): void {
    if (this.held.length === 0 && this.inFlight.length === 0) fn();
    else this.idle = fn;
  }

  /** Whether answers are held or a flush runs (the write thread then yields to let flushes complete). */
  busy(): boolean {
    return this.held.length > 0 || this.inFlight.length > 0;
  }

  private startFlush(): void {
    if (this.flush === undefined || this.inFlight.length >= this.maxFlushes || this.covered === this.written) return;
    const f = { upTo: this.written, done: false };
    this.covered = f.upTo;
    this.inFlight.push(f);
    this.flush((err) => {
      f.done = true;
      if (err !== null) this.fail(err);
      // In start order only (see inFlight).
      while (this.inFlight.length > 0 && this.inFlight[0].done) this.durable = Math.max(this.durable, (this.inFlight.shift() as { upTo: number }).upTo);
      this.release();
      this.startFlush();
    });
  }

  private release(): void {
    while (this.held.length > 0 && this.held[0].mark <= this.durable) this.send((this.held.shift() as { reply: R }).reply);
    if (this.idle !== undefined && this.held.length === 0 && this.inFlight.length === 0) {
      const fn = this.idle;
      this.idle = undefined;
      fn();
    }
  }

  /** Every reply held is answered with the error; what was written so far counts as settled. */
  private fail(err: Error): void {
    this.durable = this.written;
    this.covered = this.written;
    this.onFailed(err);
    for (const h of this.held.splice(0)) this.send(this.failed(h.reply, err));
  }
}

/**
 * The WAL file of a database, opened for fdatasync. Before each flush it checks that the
 * path still names the file it holds (SQLite deletes the WAL only when the last connection
 * closes, and the write thread's stays open; checked anyway, one stat per flush); a WAL
 * opened (or reopened) here gets its directory synced once, as SQLite does after creating
 * it with FULL, so the file's name is durable too.
 */
/** The file operations WalFile uses (node:fs by default; tests inject failing ones). */
export type WalIo = Pick<typeof fs, 'statSync' | 'openSync' | 'fstatSync' | 'fsyncSync' | 'closeSync' | 'fdatasync'>;

/**
 * Errors of finding or opening the WAL that say nothing about the disk (out of file
 * descriptors, interrupted): the flush is tried again after OPEN_RETRY_MS, up to
 * OPEN_RETRIES times, before it counts as failed (which stops the store: flush-failure.ts).
 * Anything else (the WAL gone, EIO, EACCES) fails at once.
 */
const RETRYABLE_OPEN = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EINTR']);
const OPEN_RETRIES = 20;
const OPEN_RETRY_MS = 50;

export class WalFile {
  private fd: number | undefined;
  private ino = -1;
  /** Replaced descriptors, closed only at close(): a flush may still run on one. */
  private readonly old: number[] = [];

  constructor(
    private readonly dbFile: string,
    private readonly io: WalIo = fs,
    private readonly retryLater: (fn: () => void, ms: number) => void = (fn, ms) => void setTimeout(fn, ms),
  ) {}

  /** Starts an fdatasync of the WAL on libuv's thread pool. */
  flush: FlushStarter = (done) => this.attempt(done, 0);

  private attempt(done: (err: Error | null) => void, tries: number): void {
    let fd: number;
    try {
      fd = this.open();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && RETRYABLE_OPEN.has(code) && tries < OPEN_RETRIES) {
        this.retryLater(() => this.attempt(done, tries + 1), OPEN_RETRY_MS);
        return;
      }
      done(err as Error);
      return;
    }
    this.io.fdatasync(fd, (err) => done(err));
  }

  private open(): number {
    const io = this.io;
    const walPath = `${this.dbFile}-wal`;
    const st = io.statSync(walPath);
    if (this.fd !== undefined && st.ino === this.ino) return this.fd;
    const fd = io.openSync(walPath, 'r+');
    let ino: number;
    try {
      ino = io.fstatSync(fd).ino;
      const dir = io.openSync(path.dirname(walPath), 'r');
      try {
        io.fsyncSync(dir);
      } finally {
        io.closeSync(dir);
      }
    } catch (err) {
      io.closeSync(fd);
      throw err;
    }
    // Taken only once the directory is synced too: a failed attempt leaves the old state.
    if (this.fd !== undefined) this.old.push(this.fd);
    this.fd = fd;
    this.ino = ino;
    return fd;
  }

  /** Closes the descriptors (no flush runs any more: see DurableReplies.whenIdle). */
  close(): void {
    if (this.fd !== undefined) this.old.push(this.fd);
    for (const fd of this.old.splice(0)) this.io.closeSync(fd);
    this.fd = undefined;
  }
}
