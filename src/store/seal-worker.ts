/**
 * The sealing worker thread (src/store/seal-pool.ts starts it): receives packed batches of
 * plaintext rows and answers with the sealed records (src/store/seal-batch.ts). Its cipher
 * and derived key arrive once, in workerData (a KeyObject, cloned by Node); it has no other
 * state but the nonce pool of its own copy of src/store/crypto.ts (random per thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { KeyObject } from 'node:crypto';
import { sealPacked } from './seal-batch';
import type { CipherName } from './crypto';
import type { SealReply, SealRequest, SealWorkerData } from './seal-pool';
import { errorText } from '../errors';

function setup(): { name: CipherName; key: KeyObject } {
  const d = workerData as Partial<SealWorkerData> | undefined;
  if (d === undefined || (d.name !== 'AES' && d.name !== 'CHACHA') || !(d.key instanceof KeyObject)) {
    throw new Error('seal worker started without a cipher and key');
  }
  return { name: d.name, key: d.key };
}

const port = parentPort;
if (port === null) throw new Error('seal-worker must run as a worker thread');
const { name, key } = setup();

port.on('message', (req: SealRequest) => {
  let reply: SealReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const out = sealPacked(name, key, req);
    reply = { id: req.id, out };
    transfer = [out];
  } catch (err) {
    reply = { id: req.id, error: errorText(err) };
  }
  port.postMessage(reply, transfer);
});
port.postMessage({ ready: true } satisfies SealReply);
