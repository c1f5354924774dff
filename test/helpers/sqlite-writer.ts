/**
 * The FILE store's write-thread spawner for code run from the TypeScript sources (tests under
 * tsx), as test/helpers/seal-worker.ts does for the sealing worker: a CommonJS bootstrap
 * registers tsx's require hook in the worker, then loads src/store/sql/sqlite-write-worker.ts.
 * `spawned` lists the workers started, so a test can stop one (what a crash of the thread does).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sqliteWriterOptions, type SqliteWriterSpawner } from '../../src/store/sql/sqlite-writer';

const SOURCE_WORKER = path.join(__dirname, '..', '..', 'src', 'store', 'sql', 'sqlite-write-worker.ts');

export const spawnedSqliteWriters: Worker[] = [];

export const tsxSqliteWriter: SqliteWriterSpawner = (data) => {
  const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nrequire(${JSON.stringify(SOURCE_WORKER)});`;
  const w = new Worker(boot, { ...sqliteWriterOptions(data), eval: true });
  spawnedSqliteWriters.push(w);
  return w;
};
