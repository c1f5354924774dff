/**
 * FILE store commits off the main thread: one worker thread (sqlite-write-worker.ts) owns the
 * SQLite write connection and writes each group commit in one transaction, while the main
 * thread goes on parsing publishes, sending acks and deliveries. better-sqlite3 is
 * synchronous: on the main thread every commit (its statements and, with file_sync, the WAL
 * fsync) stopped the event loop for its whole duration.
 *
 * A batch travels as a plan that owns copies of its bytes (sqlite-batch.ts), its buffers
 * transferred, not cloned. The store awaits each write before it resolves the commit's
 * waiters, so a PubAck still means committed. Batches are committed in the order handed over.
 * The store hands the next batch over while the thread still commits the one before
 * (`chained`): the thread then writes every batch queued meanwhile in its next transaction
 * (sqlite-write-worker.ts), and commits a chained batch only when the batch before it
 * committed (otherwise it answers 'earlier-failed' and writes nothing of it).
 *
 * Failure: a worker that dies fails every batch it holds with a transient error (the store
 * keeps the rows and retries them as a batch that may have landed, see Pending.retry), and
 * the next write starts a new worker.
 *
 * The worker file: the compiled `sqlite-write-worker.js` next to this file, started by
 * `spawnSqliteWriter`. Code run from the TypeScript sources passes its own spawner
 * (test/helpers/sqlite-writer.ts); without one the store writes on the main thread (open.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { planBuffers, type SqliteBatchPlan } from './sqlite-batch';
import { FLUSH_FAILED_CODE } from './flush-failure';
import { toError } from '../../errors';

/** workerData of the write thread. */
export interface SqliteWriterData {
  file: string;
  /**
   * file_sync: synchronous=FULL, else NORMAL. The thread's own connection commits with NORMAL
   * and flushes the WAL itself before answering (sqlite-wal-sync.ts): FULL's guarantee.
   */
  sync: boolean;
  /**
   * Bytes to grow the WAL file to as the thread starts (sqlite-wal-grow.ts), on the thread's
   * connection, opened then and kept; 0 or absent: not grown, the connection opened by the
   * first request.
   */
  growWal?: number;
}
/** A cold page to read (cold-pages.ts): the committed rows of a channel with from <= seq <= to. */
export interface SqlitePageRequest {
  channelID: number;
  from: number;
  to: number;
}
/**
 * Main thread → worker: a batch, a page read, or the end. `after` (batches only): the ID of
 * the batch handed over just before, still in flight when this one was; this one commits only
 * if that one committed. A page read takes its ID from the same counter but is never an
 * `after`: it is answered on its own, between two transactions.
 */
export type SqliteWriteRequest =
  | { id: number; plan: SqliteBatchPlan; after?: number; read?: undefined; close?: undefined }
  | { id: number; read: SqlitePageRequest; plan?: undefined; after?: undefined; close?: undefined }
  | { close: true; id?: undefined };
/** What a write came to: committed, refused by the FT fence, or not written because the batch before it was not. */
export type SqliteWriteResult = 'ok' | 'fence-lost' | 'earlier-failed';
/**
 * Worker → main thread. Batches: `first`..`last` (IDs are consecutive: a page read ends a
 * chained run) were written in one transaction; on success every one is 'ok', otherwise
 * `first` gets the result or error and the others 'earlier-failed'. A page read: `id` and its
 * page or error.
 */
export type SqliteWriteReply =
  | { ready: true }
  | { first: number; last: number; result: SqliteWriteResult }
  | { first: number; last: number; error: { message: string; code?: string } }
  /** The page packed (page-pack.ts), its buffer transferred; null: no rows. */
  | { id: number; page: ArrayBuffer | null }
  | { id: number; error: { message: string; code?: string } }
  /** A WAL flush failed (flush-failure.ts), told at once even when no answer is held. */
  | { flushFailed: { message: string; code: string } }
  /** A checkpoint copied every frame of the WAL, the batches up to this ID included (sqlite-checkpoint.ts). */
  | { checkpointed: number };

/** Starts the write thread with its workerData. */
export type SqliteWriterSpawner = (data: SqliteWriterData) => Worker;
export function sqliteWriterOptions(data: SqliteWriterData): { workerData: SqliteWriterData; name: string; resourceLimits: { maxYoungGenerationSizeMb: number } } {
  // A bounded young generation: the thread's garbage (better-sqlite3's row buffers of the cold
  // pages it reads, one per row) is short-lived, and V8's default let it grow to ~30-50 MB
  // of RSS during a catch-up (FILE peak 155 -> 190 MB with the page reads moved here). 16 MB,
  // not 4: with 4 the thread scavenged so often that publishing cost more server CPU (FILE
  // stan-bench, quiet machine, two alternated rounds, medians of 3, async / pub+sub: 4 MB
  // 16.4, 15.4 / 21.1, 19.4 µs per message; 16 MB 15.0, 15.4 / 18.9, 17.9; before the page
  // reads moved here 14.9, 14.7 / 20.2, 17.8).
  return { workerData: data, name: 'stan-sqlite-writer', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } };
}
const YOUNG_MB = 16;

const WORKER_FILE = path.join(__dirname, 'sqlite-write-worker.js');
/** The production spawner: the compiled worker file. */
export const spawnSqliteWriter: SqliteWriterSpawner = (data) => new Worker(WORKER_FILE, sqliteWriterOptions(data));
/** The production spawner when its compiled file is there (it is not when running from the .ts sources). */
export function defaultSqliteWriter(): SqliteWriterSpawner | undefined {
  return fs.existsSync(WORKER_FILE) ? spawnSqliteWriter : undefined;
}

/** The connection settings of every FILE store connection (main thread and write thread). */
export function applySqlitePragmas(d: { pragma(s: string): unknown }, sync: boolean): void {
  d.pragma('journal_mode = WAL');
  d.pragma(`synchronous = ${sync ? 'FULL' : 'NORMAL'}`);
  d.pragma('busy_timeout = 5000');
}

/** An error the write thread reported: keeps SQLite's code (SQLITE_BUSY, …) for classifyCommitError. */
function writeError(e: { message: string; code?: string }): Error {
  const err = new Error(e.message) as Error & { code?: string };
  if (e.code !== undefined) err.code = e.code;
  return err;
}

/** What a reply resolves a waiting call with: a batch's result, or a read page. */
type ReplyValue = SqliteWriteResult | Buffer | null;

type Waiting = Map<number, { resolve: (r: ReplyValue) => void; reject: (err: Error) => void }>;

interface Running {
  worker: Worker;
  waiting: Waiting;
}

/** Settles the calls a reply answers: a page read's, or every batch of a written run. */
function settle(waiting: Waiting, m: SqliteWriteReply): void {
  if ('id' in m) {
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if ('error' in m) w.reject(writeError(m.error));
    else w.resolve(m.page === null ? null : Buffer.from(m.page));
    return;
  }
  if (!('first' in m)) return;
  for (let id = m.first; id <= m.last; id++) {
    const w = waiting.get(id);
    if (w === undefined) continue;
    waiting.delete(id);
    if (id !== m.first) w.resolve('error' in m || m.result !== 'ok' ? 'earlier-failed' : 'ok');
    else if ('error' in m) w.reject(writeError(m.error));
    else w.resolve(m.result);
  }
}

export class SqliteWriteThread {
  private running: Running | undefined;
  private starting: Promise<Running> | undefined;
  private nextID = 1;
  /** The ID of the last batch handed over (0: none yet). */
  private lastID = 0;
  /** Batches and page reads handed over while the worker starts, posted in order once it runs. */
  private readonly held: Array<{ send: (run: Running) => void; fail: (err: Error) => void }> = [];
  private closed = false;
  /**
   * The thread's first failed WAL flush (flush-failure.ts), for good: every later write is
   * refused with it, on the thread and inline (batch-writer.ts) alike.
   */
  flushFailed: Error | undefined;

  /** Whether the thread holds batches no checkpoint copied yet (`marks.raise` ran, `marks.lower` not since). */
  private uncopied = false;

  /**
   * `marks`: the main connection's checkpoint mark (open.ts), raised when a batch is handed
   * over and lowered once the thread says a checkpoint copied every batch handed over, so that
   * an inline commit never copies a burst's pages on the event loop, and otherwise
   * checkpoints the inline commits itself (sqlite-checkpoint.ts says why).
   */
  constructor(
    private readonly data: SqliteWriterData,
    private readonly spawnWorker: SqliteWriterSpawner,
    private readonly marks: { raise(): void; lower(): void } = { raise: () => undefined, lower: () => undefined },
  ) {}

  /**
   * Writes the plan in one transaction; resolves once it committed ('fence-lost': nothing
   * written). `chained`: the batch before it is still in flight on this thread, and this one
   * must not commit unless that one did ('earlier-failed': nothing written). The batch is
   * handed over before this returns when the thread runs (the order of calls is the order of
   * commits).
   */
  write(plan: SqliteBatchPlan, chained = false): Promise<SqliteWriteResult> {
    // After a failed WAL flush nothing more is written, by this worker or a replacement.
    if (this.flushFailed !== undefined) return Promise.reject(this.flushFailed);
    // A batch chained to one a dead worker held is refused by the new worker, which never
    // saw that ID.
    const id = this.nextID++;
    const after = chained ? this.lastID : undefined;
    this.lastID = id;
    if (!this.uncopied) {
      this.uncopied = true;
      this.marks.raise();
    }
    return this.ask({ id, plan, after }, planBuffers(plan)) as Promise<SqliteWriteResult>;
  }

  /**
   * Reads a cold page on the thread's connection (committed rows only), packed (page-pack.ts);
   * null when there are none. A catch-up's page reads cost the main thread only the unpacking
   * (docs/performance.md); they queue behind the batches sent before them. A read is no
   * batch: `lastID` stays the last batch handed over, the next batch's chain predecessor.
   */
  readPage(read: SqlitePageRequest): Promise<Buffer | null> {
    return this.ask({ id: this.nextID++, read }) as Promise<Buffer | null>;
  }

  /**
   * Requests are posted in the order of their IDs, taken in call order (while a worker
   * starts, they wait in `held`).
   */
  private ask(req: SqliteWriteRequest & { id: number }, transfer: ArrayBuffer[] = []): Promise<ReplyValue> {
    if (this.running !== undefined && this.held.length === 0) return this.post(this.running, req, transfer);
    return new Promise((resolve, reject) => {
      this.held.push({ send: (run) => this.post(run, req, transfer).then(resolve, reject), fail: reject });
      if (this.held.length > 1) return;
      this.start().then(
        (run) => {
          for (const h of this.held.splice(0)) h.send(run);
        },
        (err: unknown) => {
          for (const h of this.held.splice(0)) h.fail(toError(err));
        },
      );
    });
  }

  private post(run: Running, req: SqliteWriteRequest & { id: number }, transfer: ArrayBuffer[]): Promise<ReplyValue> {
    const id = req.id;
    return new Promise((resolve, reject) => {
      run.waiting.set(id, { resolve, reject });
      if (run.waiting.size === 1) run.worker.ref();
      try {
        run.worker.postMessage(req, transfer);
      } catch (err) {
        run.waiting.delete(id);
        reject(toError(err));
      }
    });
  }

  /** Nothing the thread holds is left to copy: the main connection's mark is lowered (once). */
  private allCopied(): void {
    if (!this.uncopied) return;
    this.uncopied = false;
    this.marks.lower();
  }

  /** Starts the worker now (a failure is a clear start-up error). */
  start(): Promise<Running> {
    if (this.closed) return Promise.reject(writeError({ message: 'the SQLite write thread is closed', code: 'SQLITE_MISUSE' }));
    if (this.running !== undefined) return Promise.resolve(this.running);
    this.starting ??= this.spawn().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawn(): Promise<Running> {
    const worker = this.spawnWorker(this.data);
    // Started once it answers (its connection opens with its first request).
    let onError: (err: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    const started = new Promise<SqliteWriteReply>((resolve, reject) => {
      onError = reject;
      onExit = (code) => reject(new Error(`SQLite write thread exited while starting (code ${code})`));
      worker.once('message', resolve).once('error', onError).once('exit', onExit);
    });
    try {
      await started;
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      worker.off('error', onError).off('exit', onExit);
    }
    const run: Running = { worker, waiting: new Map() };
    const lost = (err: Error): void => {
      if (this.running === run) this.running = undefined;
      // A new worker knows nothing of what this one wrote: the main connection checkpoints
      // again itself rather than keep its mark raised for a thread that may not come back.
      this.allCopied();
      for (const w of run.waiting.values()) w.reject(err);
      run.waiting.clear();
    };
    worker.on('message', (m: SqliteWriteReply) => {
      if ('flushFailed' in m) {
        // Stops the inline writes at once (batch-writer.ts), not only once a batch is refused.
        this.flushFailed ??= writeError(m.flushFailed);
        return;
      }
      if ('checkpointed' in m) {
        // Not when a later batch was handed over since: its pages may not be copied yet.
        if (m.checkpointed === this.lastID) this.allCopied();
        return;
      }
      if ('error' in m && m.error.code === FLUSH_FAILED_CODE) this.flushFailed ??= writeError(m.error);
      settle(run.waiting, m);
      if (run.waiting.size === 0) worker.unref();
    });
    // Transient for the store (no SQLite code): the rows are kept and retried by a new worker.
    worker.on('error', (err) => lost(new Error(`SQLite write thread failed: ${err.message}`)));
    worker.on('exit', (code) => lost(new Error(`SQLite write thread exited (code ${code})`)));
    this.running = run;
    worker.unref();
    return run;
  }

  /** Stops the worker after the batches it holds (the store's last commit is awaited before this). */
  async close(): Promise<void> {
    this.closed = true;
    const run = this.running ?? (await this.starting?.catch(() => undefined));
    if (run === undefined) return;
    const exited = new Promise<void>((r) => run.worker.once('exit', () => r()));
    run.worker.ref();
    run.worker.postMessage({ close: true } satisfies SqliteWriteRequest);
    await exited;
  }
}
