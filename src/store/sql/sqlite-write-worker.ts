/**
 * The FILE store's write thread (sqlite-writer.ts starts it): owns its own SQLite connection
 * to the store's database and writes each batch it receives in one transaction
 * (sqlite-batch.ts), then answers; it also reads cold pages for a catching-up subscriber
 * (packed into one transferred buffer, page-pack.ts). better-sqlite3 is synchronous, so the commit (statements
 * and, with file_sync, the WAL fsync) blocks this thread only, not the server's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteBatchRunner } from './sqlite-batch';
import { sqliteOptions } from './sqlite-driver';
import { applySqlitePragmas, type SqlitePageRequest, type SqliteWriteReply, type SqliteWriteRequest, type SqliteWriterData } from './sqlite-writer';
import { packPageRows, type RawPageRow } from './page-pack';
import { PAGE_SQL } from './dialect/page-reads';

const port = parentPort;
if (port === null) throw new Error('sqlite-write-worker must run as a worker thread');
const data = workerData as SqliteWriterData;

let db: BetterSqlite3.Database | undefined;
let runner: SqliteBatchRunner | undefined;
try {
  db = new BetterSqlite3(data.file, sqliteOptions());
  applySqlitePragmas(db, data.sync);
  runner = new SqliteBatchRunner(db);
  port.postMessage({ ready: true } satisfies SqliteWriteReply);
} catch (err) {
  port.postMessage({ startError: describe(err) } satisfies SqliteWriteReply);
}

function describe(err: unknown): { message: string; code?: string } {
  const e = err as { message?: unknown; code?: unknown } | null;
  const message = e !== null && typeof e === 'object' && typeof e.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? { message, code: e.code } : { message };
}

port.on('message', (req: SqliteWriteRequest) => {
  if (req.close === true) {
    db?.close();
    port.close();
    return;
  }
  let reply: SqliteWriteReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (runner === undefined || db === undefined) throw new Error('the SQLite write connection is not open');
    if (req.read !== undefined) {
      const page = readPage(db, req.read);
      reply = { id: req.id, page: page === null ? null : (page.buffer as ArrayBuffer) };
      if (page !== null) transfer = [page.buffer as ArrayBuffer];
    } else {
      reply = { id: req.id, result: runner.run(req.plan) };
    }
  } catch (err) {
    reply = { id: req.id, error: describe(err) };
  }
  port.postMessage(reply, transfer);
});

let pageStmt: { all(...params: number[]): unknown[] } | undefined;

/** A cold page's rows, packed into one buffer of its own (page-pack.ts). */
function readPage(conn: BetterSqlite3.Database, r: SqlitePageRequest): Buffer | null {
  pageStmt ??= conn.prepare(PAGE_SQL).raw(true);
  return packPageRows(pageStmt.all(r.channelID, r.from, r.to) as RawPageRow[]);
}
