/**
 * FILE store commits off the main thread: one worker thread (sqlite-write-worker.ts) owns the
 * SQLite write connection and writes each group commit in one transaction, while the main
 * thread goes on parsing publishes, sending acks and deliveries. better-sqlite3 is
 * synchronous: on the main thread every commit (its statements and, with file_sync, the WAL
 * fsync) stopped the event loop for its whole duration.
 *
 * A batch travels as a plan that owns copies of its bytes (sqlite-batch.ts), its buffers
 * transferred, not cloned. The store awaits each write before it resolves the commit's
 * waiters, so a PubAck still means committed; batches are written one at a time in the order
 * given (the store's commit loop runs one transaction at a time on SQLite).
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
import { toError } from '../../errors';

/** workerData of the write thread. */
export interface SqliteWriterData {
  file: string;
  /** file_sync: synchronous=FULL, else NORMAL. */
  sync: boolean;
}
/** A cold page to read (cold-pages.ts): the committed rows of a channel with from <= seq <= to. */
export interface SqlitePageRequest {
  channelID: number;
  from: number;
  to: number;
}
/** Main thread → worker: a batch, a page read, or the end. */
export type SqliteWriteRequest =
  | { id: number; plan: SqliteBatchPlan; read?: undefined; close?: undefined }
  | { id: number; read: SqlitePageRequest; plan?: undefined; close?: undefined }
  | { close: true; id?: undefined };
/** Worker → main thread. */
export type SqliteWriteReply =
  | { ready: true }
  | { startError: { message: string; code?: string } }
  | { id: number; result: 'ok' | 'fence-lost' }
  /** The page packed (page-pack.ts), its buffer transferred; null: no rows. */
  | { id: number; page: ArrayBuffer | null }
  | { id: number; error: { message: string; code?: string } };

/** Starts the write thread with its workerData. */
export type SqliteWriterSpawner = (data: SqliteWriterData) => Worker;
export function sqliteWriterOptions(data: SqliteWriterData): { workerData: SqliteWriterData; name: string; resourceLimits: { maxYoungGenerationSizeMb: number } } {
  // A small young generation: the thread's garbage (better-sqlite3's row buffers of the cold
  // pages it reads, one per row) is short-lived, and V8's default let it grow to ~30-50 MB
  // of RSS during a catch-up (FILE peak 155 -> 190 MB with the page reads moved here).
  return { workerData: data, name: 'stan-sqlite-writer', resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } };
}
const YOUNG_MB = 4;

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
type ReplyValue = 'ok' | 'fence-lost' | Buffer | null;

interface Running {
  worker: Worker;
  waiting: Map<number, { resolve: (r: ReplyValue) => void; reject: (err: Error) => void }>;
}

export class SqliteWriteThread {
  private running: Running | undefined;
  private starting: Promise<Running> | undefined;
  private nextID = 1;
  private closed = false;

  constructor(
    private readonly data: SqliteWriterData,
    private readonly spawnWorker: SqliteWriterSpawner,
  ) {}

  /** Writes the plan in one transaction; resolves once it committed ('fence-lost': nothing written). */
  async write(plan: SqliteBatchPlan): Promise<'ok' | 'fence-lost'> {
    return (await this.ask({ id: 0, plan }, planBuffers(plan))) as 'ok' | 'fence-lost';
  }

  /**
   * Reads a cold page on the thread's connection (committed rows only), packed (page-pack.ts);
   * null when there are none. A catch-up's page reads cost the main thread only the unpacking
   * (docs/performance.md); they queue behind the batches sent before them.
   */
  async readPage(read: SqlitePageRequest): Promise<Buffer | null> {
    return (await this.ask({ id: 0, read })) as Buffer | null;
  }

  private async ask(req: SqliteWriteRequest & { id: number }, transfer: ArrayBuffer[] = []): Promise<ReplyValue> {
    const run = await this.start();
    return new Promise((resolve, reject) => {
      const id = this.nextID++;
      run.waiting.set(id, { resolve, reject });
      if (run.waiting.size === 1) run.worker.ref();
      try {
        run.worker.postMessage({ ...req, id }, transfer);
      } catch (err) {
        run.waiting.delete(id);
        reject(toError(err));
      }
    });
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
    // Started once it answers: its connection is open, or why it is not.
    let onError: (err: Error) => void = () => undefined;
    let onExit: (code: number) => void = () => undefined;
    const started = new Promise<SqliteWriteReply>((resolve, reject) => {
      onError = reject;
      onExit = (code) => reject(new Error(`SQLite write thread exited while starting (code ${code})`));
      worker.once('message', resolve).once('error', onError).once('exit', onExit);
    });
    try {
      const first = await started;
      if ('startError' in first) throw writeError(first.startError);
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      worker.off('error', onError).off('exit', onExit);
    }
    const run: Running = { worker, waiting: new Map() };
    const lost = (err: Error): void => {
      if (this.running === run) this.running = undefined;
      for (const w of run.waiting.values()) w.reject(err);
      run.waiting.clear();
    };
    worker.on('message', (m: SqliteWriteReply) => {
      if (!('id' in m)) return;
      const w = run.waiting.get(m.id);
      if (w === undefined) return;
      run.waiting.delete(m.id);
      if (run.waiting.size === 0) worker.unref();
      if ('error' in m) w.reject(writeError(m.error));
      else if ('page' in m) w.resolve(m.page === null ? null : Buffer.from(m.page));
      else w.resolve(m.result);
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
