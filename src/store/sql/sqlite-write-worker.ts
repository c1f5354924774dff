/**
 * The FILE store's write thread (sqlite-writer.ts starts it): owns its own SQLite connection
 * to the store's database and writes each batch it receives in one transaction
 * (sqlite-batch.ts), then answers. better-sqlite3 is synchronous, so the commit (statements
 * and, with file_sync, the WAL fsync) blocks this thread only, not the server's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteBatchRunner } from './sqlite-batch';
import { sqliteOptions } from './sqlite-driver';
import { applySqlitePragmas, type SqliteWriteReply, type SqliteWriteRequest, type SqliteWriterData } from './sqlite-writer';

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
  try {
    if (runner === undefined) throw new Error('the SQLite write connection is not open');
    reply = { id: req.id, result: runner.run(req.plan) };
  } catch (err) {
    reply = { id: req.id, error: describe(err) };
  }
  port.postMessage(reply);
});
