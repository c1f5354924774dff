/**
 * pg's SCRAM-SHA-256 client steps on node:crypto instead of WebCrypto.
 *
 * Why: pg (8.x, lib/crypto/utils.js) computes the salted password, the HMACs and the hash of
 * a SCRAM login with WebCrypto's subtle API; the first use in a process initialises it and every
 * step is a round trip through libuv's thread pool. A server start-up logs in once, on the way
 * to its first answered connect: a process's first SCRAM connect to the test PostgreSQL took
 * 19.9 ms with WebCrypto against 15.6 ms with these (medians of 12 processes, alternating, load
 * 2.3; docs/startup.md). The results are the same bytes (PBKDF2-HMAC-SHA-256, HMAC-SHA-256,
 * SHA-256: RFC 7677); pg receives them as it expects them, ArrayBuffers, from async functions.
 *
 * Only functions that exist under these names are replaced: another pg release that moved them
 * keeps its own.
 */
import * as crypto from 'node:crypto';

/** The part of pg's lib/crypto/utils.js exports replaced here. */
export interface PgScramUtils {
  deriveKey?: unknown;
  hmacSha256?: unknown;
  sha256?: unknown;
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}

function bytes(v: ArrayBuffer | ArrayBufferView | string): Buffer {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * SCRAM's salted password: PBKDF2-HMAC-SHA-256, 32 bytes. On libuv's thread pool, not
 * pbkdf2Sync: the iteration count is the server's (scram_iterations, 4096 by default and
 * settable much higher), and a pool reconnecting after a failover must not stall publishing.
 */
export function deriveKey(password: string, salt: ArrayBuffer | ArrayBufferView, iterations: number): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) => {
    crypto.pbkdf2(password, bytes(salt), iterations, 32, 'sha256', (err, key) => (err ? reject(err) : resolve(arrayBuffer(key))));
  });
}

export async function hmacSha256(key: ArrayBuffer | ArrayBufferView, msg: string): Promise<ArrayBuffer> {
  return arrayBuffer(crypto.createHmac('sha256', bytes(key)).update(msg, 'utf8').digest());
}

export async function sha256(data: ArrayBuffer | ArrayBufferView | string): Promise<ArrayBuffer> {
  return arrayBuffer(crypto.createHash('sha256').update(bytes(data)).digest());
}

/** Replaces pg's WebCrypto SCRAM steps with the ones above, where pg has them. */
export function useNodeCryptoForScram(utils: PgScramUtils): void {
  if (typeof utils.deriveKey === 'function') utils.deriveKey = deriveKey;
  if (typeof utils.hmacSha256 === 'function') utils.hmacSha256 = hmacSha256;
  if (typeof utils.sha256 === 'function') utils.sha256 = sha256;
}
