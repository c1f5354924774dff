/**
 * The FILE store's write thread (sqlite-writer.ts starts it): owns its own SQLite connection
 * to the store's database and writes each batch it receives in one transaction
 * (sqlite-batch.ts), then answers; it also reads cold pages for a catching-up subscriber
 * (packed into one transferred buffer, page-pack.ts). better-sqlite3 is synchronous, so the
 * commit (statements and, with file_sync, the WAL fsync) blocks this thread only, not the
 * server's event loop.
 *
 * Group commit on the thread: the batches handed over while a transaction was committing are
 * taken together (receiveMessageOnPort) and a run of chained ones (each `after` the one
 * before it) is written in one transaction, one WAL sync for all of them. A chained run whose
 * first batch follows one that did not commit is not written at all ('earlier-failed': the
 * store queues it again behind the failed one). Unchained batches (the halves of a refused
 * batch being isolated) always get a transaction of their own. A page read ends a chained run
 * and is answered on its own, between two transactions; it leaves the last batch and its
 * outcome as they were, so a batch chained to the batch before the read still commits only
 * if that one did.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteBatchRunner } from './sqlite-batch';
import { sqliteOptions } from './sqlite-driver';
import { applySqlitePragmas, type SqlitePageRequest, type SqliteWriteReply, type SqliteWriteRequest, type SqliteWriterData } from './sqlite-writer';
import { packPageRows, type RawPageRow } from './page-pack';
import { DurableReplies, WalFile } from './sqlite-wal-sync';
import { flushFailure } from './flush-failure';
import { PAGE_SQL } from './dialect/page-reads';
import { takeOverCheckpoints, WalCheckpointer, type CheckpointResult } from './sqlite-checkpoint';
import { growWal, spillAndRollBack } from './sqlite-wal-grow';
import { WalFrameCount } from './sqlite-wal-frames';
import * as fs from 'node:fs';

if (parentPort === null) throw new Error('sqlite-write-worker must run as a worker thread');
const port: MessagePort = parentPort;
const data = workerData as SqliteWriterData;

let db: BetterSqlite3.Database | undefined;
let runner: SqliteBatchRunner | undefined;

/**
 * The connection, opened when the thread grows the WAL at its start (the server's FILE store),
 * else by the first request (tools and tests that start the thread with their first large
 * batch). A failure to open answers the request with the driver's error, and the next request
 * tries again.
 */
function connection(): { db: BetterSqlite3.Database; runner: SqliteBatchRunner } {
  if (db === undefined || runner === undefined) {
    const conn = new BetterSqlite3(data.file, sqliteOptions());
    try {
      // synchronous=NORMAL whatever file_sync says: with file_sync the WAL is flushed by
      // `replies` before any answer (sqlite-wal-sync.ts: FULL's guarantee, the next
      // transaction written during the flush), without it NORMAL is what the store asks for.
      applySqlitePragmas(conn, false);
      // Checkpoints when idle or at a bound, never inside COMMIT (sqlite-checkpoint.ts).
      takeOverCheckpoints(conn);
      runner = new SqliteBatchRunner(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
    db = conn;
  }
  return { db, runner };
}

port.postMessage({ ready: true } satisfies SqliteWriteReply);
// Before any request is taken (they queue meanwhile): the store starts the thread at open.
if ((data.growWal ?? 0) > 0) growAtStart(data.growWal ?? 0);

/**
 * Opens the thread's connection and grows the WAL file ahead of the first burst
 * (sqlite-wal-grow.ts) through it. The connection stays open, also when the WAL needs no growing
 * (a restart after a crash, an FT standby beside its active): the sweep (sqlite-checkpoint.ts)
 * checkpoints through it from the start, an FT lease's renewals included, before any batch.
 */
function growAtStart(target: number): void {
  try {
    connection();
  } catch {
    // Opened again by the first request, which then answers with the driver's error.
    return;
  }
  const walFile = `${data.file}-wal`;
  growWal(
    {
      size: () => (fs.existsSync(walFile) ? fs.statSync(walFile).size : 0),
      spill: (bytes) => spillAndRollBack(connection().db, bytes),
      sync: () => {
        const fd = fs.openSync(walFile, 'r+');
        try {
          fs.fdatasyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      },
    },
    target,
  );
}

function describe(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown } | null;
  const message = e !== null && typeof e === 'object' && typeof e.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? { message, code: e.code } : { message };
}

/** Batches at most per transaction (bounds one transaction's size when the thread lags far behind). */
const MAX_GROUP = 64;
type BatchRequest = Extract<SqliteWriteRequest, { plan: object }>;
type ReadRequest = Extract<SqliteWriteRequest, { read: object }>;
const queue: SqliteWriteRequest[] = [];
/** The last batch processed, and whether it committed: a batch `after` it commits only if it did. */
let lastID = 0;
let lastOk = false;
const wal = data.sync ? new WalFile(data.file) : undefined;
/** The WAL's real length after each transaction (the checkpoint bound). */
const walFrames = new WalFrameCount(data.file);
/** The last batch the main thread was told a checkpoint copied (see copiedAll below). */
let toldCopied = 0;
const checkpoints = new WalCheckpointer({
  // Nothing more is written once a WAL flush failed (flush-failure.ts), checkpoints included.
  checkpoint: () => (flushFailed === undefined ? (db?.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[] | undefined)?.[0] : undefined),
  idle: () => queue.length === 0 && !replies.busy(),
  // The main thread lowers its connection's checkpoint mark again once every batch it handed
  // over is copied (sqlite-writer.ts); told once per batch at most.
  copiedAll: () => {
    if (lastID === toldCopied) return;
    toldCopied = lastID;
    port.postMessage({ checkpointed: lastID } satisfies SqliteWriteReply);
  },
  frames: () => walFrames.frames(),
});
/** Answers being sent: the checkpointer is told once they are all out (see WalCheckpointer.answered). */
let answersSent = false;
function answerSent(): void {
  if (answersSent) return;
  answersSent = true;
  queueMicrotask(() => {
    answersSent = false;
    checkpoints.answered();
  });
}
/**
 * Set by the first failed WAL flush, for good: every batch held then and every later one is
 * answered with it, nothing more is written (flush-failure.ts says why a restart is needed).
 */
let flushFailed: { message: string; code: string } | undefined;
/** Batch answers, held in order until their transaction is on disk. */
const replies = new DurableReplies<SqliteWriteReply>(
  (r) => {
    port.postMessage(r);
    answerSent();
  },
  wal?.flush,
  (r) => ('first' in r ? { first: r.first, last: r.last, error: flushFailed ?? { message: 'the WAL flush failed' } } : r),
  (err) => {
    if (flushFailed === undefined) {
      flushFailed = flushFailure(`${data.file}-wal`, describe(err));
      port.postMessage({ flushFailed } satisfies SqliteWriteReply);
    }
    lastOk = false;
  },
);

function shutdown(): void {
  // walFrames' descriptor stays open (sqlite-wal-frames.ts says why).
  db?.close();
  wal?.close();
  port.close();
}

port.on('message', (req: SqliteWriteRequest) => {
  queue.push(req);
  work();
});

/** Everything handed over so far, without waiting for the event loop. */
function drain(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) queue.push(m.message as SqliteWriteRequest);
}

/** A `work` queued on the event loop (see work). */
let workQueued = false;

function work(): void {
  workQueued = false;
  drain();
  while (queue.length > 0) {
    if (queue[0].close === true) {
      // Every answer still held is sent first (its flush completes).
      replies.whenIdle(shutdown);
      return;
    }
    const head = queue.shift() as BatchRequest | ReadRequest;
    if (head.read !== undefined) {
      answerRead(head);
    } else {
      const group = [head];
      for (let next = queue[0]; next?.plan !== undefined && next.after === group[group.length - 1].id && group.length < MAX_GROUP; next = queue[0]) {
        group.push(next);
        queue.shift();
      }
      const reply = writeGroup(group);
      if ('result' in reply && reply.result === 'ok') replies.committed(reply);
      else replies.answer(reply);
    }
    if (replies.busy()) {
      // Answers wait for flushes whose completions run on this thread's event loop: let them
      // in between requests, or a stream of page reads (subscribers catching up) would hold
      // every PubAck until it ends (measured by the review: 2-3 s with six readers).
      drain();
      if (!workQueued && queue.length > 0) {
        workQueued = true;
        setImmediate(work);
      }
      return;
    }
    drain();
  }
}

function writeGroup(group: BatchRequest[]): SqliteWriteReply {
  const first = group[0].id;
  const last = group[group.length - 1].id;
  const after = group[0].after;
  const ok = after === undefined || (after === lastID && lastOk);
  lastID = last;
  lastOk = false;
  if (flushFailed !== undefined) return { first, last, error: flushFailed };
  if (!ok) return { first, last, result: 'earlier-failed' };
  try {
    const result = connection().runner.runAll(group.map((r) => r.plan));
    lastOk = result === 'ok';
    if (lastOk) checkpoints.wrote(group.reduce((n, r) => n + r.plan.msgs.bytes.byteLength + r.plan.events.bytes.byteLength, 0));
    return { first, last, result };
  } catch (err) {
    return { first, last, error: describe(err) };
  }
}

/** Answers a page read; `lastID` and `lastOk` are left as they were (a read is not a batch). */
function answerRead(req: ReadRequest): void {
  try {
    const page = readPage(connection().db, req.read);
    if (page === null) port.postMessage({ id: req.id, page: null } satisfies SqliteWriteReply);
    else port.postMessage({ id: req.id, page: page.buffer as ArrayBuffer } satisfies SqliteWriteReply, [page.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: req.id, error: describe(err) } satisfies SqliteWriteReply);
  }
}

let pageStmt: { all(...params: number[]): unknown[] } | undefined;

/** A cold page's rows, packed into one buffer of its own (page-pack.ts). */
function readPage(conn: BetterSqlite3.Database, r: SqlitePageRequest): Buffer | null {
  pageStmt ??= conn.prepare(PAGE_SQL).raw(true);
  return packPageRows(pageStmt.all(r.channelID, r.from, r.to) as RawPageRow[]);
}
