/**
 * Encryption at rest off the main thread: worker threads that seal message rows many at a
 * time (docs/encryption.md, "Performance").
 *
 * Sealing costs ~9 µs per small message, nearly all of it Node's fixed per-call cost of an
 * OpenSSL cipher context, and the server is bound by its main thread. The store hands an
 * event-loop turn's plaintexts to a worker in one postMessage (two transferred ArrayBuffers,
 * see src/store/seal-batch.ts) and writes a batch once all its rows are sealed; the main
 * thread keeps receiving publishes and writing the previous batch meanwhile. Small batches are sealed inline (see
 * SEAL_INLINE_MAX_ROWS in sql/sealing.ts).
 *
 * Failure: a worker that errors, exits or does not answer within SEAL_TIMEOUT_MS fails every
 * batch it holds (the store treats that like a failed commit: rows kept and retried,
 * publishers told) and is replaced by a new one at the next batch. Nothing is ever written
 * unsealed: the store only writes records returned here, checked by unpackSealed.
 *
 * The worker file: the compiled `seal-worker.js` next to this file (dist/src/store), started
 * by spawnSealWorker. Who starts the workers is the caller's choice (SealWorkerSpawner, passed
 * down from StreamingServer.start): code running from the TypeScript sources (tests under
 * tsx) passes a spawner that loads `seal-worker.ts` (test/helpers/seal-worker.ts).
 */
import * as path from 'node:path';
// Types only: node:worker_threads is loaded when a worker is started (encryption on), not by
// every FILE/SQL start-up (docs/startup.md).
import type * as WorkerThreads from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import type { CipherName, PayloadCipher } from './crypto';
import { packBatch, unpackSealed, type PackedBatch, type SealInput } from './seal-batch';
import { errorText, toError } from '../errors';

/**
 * Sealing threads. One: the 2-core machines this is sized for have one core for the main
 * thread and one shared by the worker, SQLite/libuv threads and (in benchmarks) the clients;
 * a second worker would only compete for it. Raise on bigger machines: a batch is split
 * evenly across the workers.
 */
export const SEAL_WORKERS = 1;
/** Rows per worker below which a batch is not split further (a split costs a message). */
const MIN_ROWS_PER_WORKER = 64;
/** A worker that has not answered a batch after this long is killed (the batch fails). */
export const SEAL_TIMEOUT_MS = 30_000;
/** A worker that has not started after this long is a startup failure. */
const START_TIMEOUT_MS = 10_000;

/** workerData of a sealing worker. */
export interface SealWorkerData {
  name: CipherName;
  key: KeyObject;
}
/** Main thread → worker: one batch. */
export interface SealRequest extends PackedBatch {
  id: number;
}
/** Worker → main thread: started, a sealed batch, or why a batch could not be sealed. */
export type SealReply = { ready: true } | { id: number; out: ArrayBuffer } | { id: number; error: string };

/** The compiled worker file (always .js: see the module comment). */
const WORKER_FILE = path.join(__dirname, 'seal-worker.js');
/** Starts one sealing worker thread with its workerData. */
export type SealWorkerSpawner = (data: SealWorkerData) => Worker;
/** Worker options every spawner uses (the thread's name shows in diagnostics). */
export function sealWorkerOptions(data: SealWorkerData): { workerData: SealWorkerData; name: string } {
  return { workerData: data, name: 'stan-seal' };
}
/** The production spawner (default of SealPoolOptions.spawn): the compiled worker file. */
export const spawnSealWorker: SealWorkerSpawner = (data) => new (require('node:worker_threads') as typeof WorkerThreads).Worker(WORKER_FILE, sealWorkerOptions(data));

/** How a store's sealing workers are run. */
export interface SealPoolOptions {
  /** Worker threads (default SEAL_WORKERS). */
  size?: number;
  /** Starts one worker (default spawnSealWorker); tests pass one that runs the .ts sources, or watches or stops workers. */
  spawn?: SealWorkerSpawner;
}

interface Running {
  worker: Worker;
  waiting: Map<number, { resolve: (out: ArrayBuffer) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>;
}

/** One worker, restarted on demand after it died. */
class SealThread {
  private running: Running | undefined;
  private starting: Promise<Running> | undefined;
  private nextID = 1;
  closed = false;

  constructor(
    private readonly data: SealWorkerData,
    private readonly spawnWorker: (data: SealWorkerData) => Worker,
  ) {}

  start(): Promise<Running> {
    if (this.closed) return Promise.reject(new Error('encryption worker pool is closed'));
    if (this.running !== undefined) return Promise.resolve(this.running);
    this.starting ??= this.spawn().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private spawn(): Promise<Running> {
    return new Promise<Running>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.spawnWorker(this.data);
      } catch (err) {
        reject(toError(err));
        return;
      }
      const run: Running = { worker, waiting: new Map() };
      let started = false;
      const timer = setTimeout(() => {
        fail(new Error(`no answer within ${START_TIMEOUT_MS} ms`));
        void worker.terminate();
      }, START_TIMEOUT_MS);
      const fail = (err: Error): void => {
        if (!started) {
          started = true;
          clearTimeout(timer);
          reject(err);
          return;
        }
        if (this.running === run) this.running = undefined;
        for (const w of run.waiting.values()) {
          clearTimeout(w.timer);
          w.reject(err);
        }
        run.waiting.clear();
      };
      worker.on('message', (m: SealReply) => {
        if ('ready' in m) {
          if (started) return;
          started = true;
          clearTimeout(timer);
          if (this.closed) {
            void worker.terminate();
            reject(new Error('encryption worker pool is closed'));
            return;
          }
          this.running = run;
          worker.unref();
          resolve(run);
          return;
        }
        const w = run.waiting.get(m.id);
        if (w === undefined) return;
        run.waiting.delete(m.id);
        clearTimeout(w.timer);
        if (run.waiting.size === 0) worker.unref();
        if ('error' in m) w.reject(new Error(`encryption worker: ${m.error}`));
        else w.resolve(m.out);
      });
      worker.on('error', (err) => fail(new Error(`encryption worker failed: ${err.message}`)));
      worker.on('messageerror', (err) => fail(new Error(`encryption worker message error: ${err.message}`)));
      worker.on('exit', (code) => fail(new Error(`encryption worker exited (code ${code})`)));
    });
  }

  async seal(batch: PackedBatch): Promise<ArrayBuffer> {
    const run = await this.start();
    return new Promise<ArrayBuffer>((resolve, reject) => {
      const id = this.nextID++;
      const timer = setTimeout(() => {
        // The exit that follows fails this batch (and any other the worker holds).
        void run.worker.terminate();
      }, SEAL_TIMEOUT_MS);
      run.waiting.set(id, { resolve, reject, timer });
      // Keep the process alive while a batch is out (the idle worker does not).
      if (run.waiting.size === 1) run.worker.ref();
      try {
        run.worker.postMessage({ id, data: batch.data, meta: batch.meta } satisfies SealRequest, [batch.data, batch.meta]);
      } catch (err) {
        run.waiting.delete(id);
        clearTimeout(timer);
        reject(toError(err));
        return;
      }
    });
  }

  /** Stops the worker (its batches fail); a later `start` spawns a new one unless closed. */
  async terminate(): Promise<boolean> {
    const run = this.running;
    if (run === undefined) return false;
    await run.worker.terminate();
    return true;
  }
}

/** The sealing workers of one store. */
export class SealPool {
  private readonly threads: SealThread[];

  constructor(cipher: PayloadCipher, options: SealPoolOptions | number = {}) {
    const o: SealPoolOptions = typeof options === 'number' ? { size: options } : options;
    const size = o.size ?? SEAL_WORKERS;
    const spawn = o.spawn ?? spawnSealWorker;
    const k = cipher.sealingKey();
    if (k === undefined) throw new Error('SealPool needs a cipher that encrypts');
    this.threads = [];
    for (let i = 0; i < Math.max(1, size); i++) this.threads.push(new SealThread({ name: k.name, key: k.key }, spawn));
  }

  /** Starts the workers now (at server start, so a failure is a clear startup error). */
  async start(): Promise<void> {
    try {
      await Promise.all(this.threads.map((t) => t.start()));
    } catch (err) {
      throw new Error(`cannot start the encryption worker thread: ${errorText(err)}`);
    }
  }

  /** The sealed records of `rows`, in order. Rejects if any worker fails (nothing is partial). */
  async seal(rows: readonly SealInput[]): Promise<Buffer[]> {
    const parts = Math.max(1, Math.min(this.threads.length, Math.floor(rows.length / MIN_ROWS_PER_WORKER)));
    if (parts === 1) return unpackSealed(rows, 0, rows.length, await this.threads[0].seal(packBatch(rows)));
    const per = Math.ceil(rows.length / parts);
    const chunks: Array<Promise<Buffer[]>> = [];
    for (let p = 0; p < parts; p++) {
      const from = p * per;
      const to = Math.min(rows.length, from + per);
      chunks.push(this.threads[p].seal(packBatch(rows, from, to)).then((out) => unpackSealed(rows, from, to, out)));
    }
    return (await Promise.all(chunks)).flat();
  }

  /** Stops the running workers (the batches they hold fail; the next batch starts new ones); returns how many. */
  async terminateWorkers(): Promise<number> {
    let n = 0;
    for (const t of this.threads) if (await t.terminate()) n++;
    return n;
  }

  async close(): Promise<void> {
    for (const t of this.threads) t.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
