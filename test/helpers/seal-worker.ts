/**
 * The sealing-worker spawner for code run from the TypeScript sources (tests under tsx):
 * production starts the compiled seal-worker.js; here a two-line CommonJS bootstrap registers
 * tsx's require hook in the worker, then loads src/store/seal-worker.ts. (Node 20 loads a
 * worker's entry with the ESM loader, which the parent's `--import tsx` hooks do not reach:
 * "Unknown file extension .ts".) Pass it as SealPoolOptions.spawn or startServer's
 * spawnSealWorker.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sealWorkerOptions, type SealWorkerSpawner } from '../../src/store/seal-pool';

const SOURCE_WORKER = path.join(__dirname, '..', '..', 'src', 'store', 'seal-worker.ts');

export const tsxSealWorker: SealWorkerSpawner = (data) => {
  const boot = `require(${JSON.stringify(require.resolve('tsx/cjs'))});\nrequire(${JSON.stringify(SOURCE_WORKER)});`;
  return new Worker(boot, { ...sealWorkerOptions(data), eval: true });
};
