/**
 * The reference's encryption at rest of message payloads (reference-stores.md §3): key
 * derivation with its zero-prefix quirk, and the per-record envelope whose first byte picks
 * the cipher. Sealing exists for the reference-format writer (tests, benchmark).
 */
import * as crypto from 'node:crypto';

export type ReferenceCipher = 'AES' | 'CHACHA';

const CODE: Record<ReferenceCipher, number> = { AES: 1, CHACHA: 2 };
const NONCE_LEN = 12;
const TAG_LEN = 16;
export const ENVELOPE_OVERHEAD = 1 + NONCE_LEN + TAG_LEN;

/** `M = SHA-256(key)`: computed once per import. */
export function masterKey(key: string | Uint8Array): Buffer {
  return crypto.createHash('sha256').update(typeof key === 'string' ? Buffer.from(key, 'utf8') : key).digest();
}

/** `K = SHA-256(Z ‖ M ‖ "." ‖ channel)` with Z = 33 + len(channel) zero bytes (§3 step 2). */
export function channelKey(master: Uint8Array, channel: string): Buffer {
  const name = Buffer.from(channel, 'utf8');
  return crypto
    .createHash('sha256')
    .update(Buffer.alloc(33 + name.length))
    .update(master)
    .update('.')
    .update(name)
    .digest();
}

/** The cipher an envelope names, or undefined for plaintext (empty, or another first byte). */
export function envelopeCipher(data: Uint8Array): ReferenceCipher | undefined {
  if (data.length === 0) return undefined;
  if (data[0] === 1) return 'AES';
  if (data[0] === 2) return 'CHACHA';
  return undefined;
}

function algorithm(c: ReferenceCipher): crypto.CipherGCMTypes {
  return (c === 'AES' ? 'aes-256-gcm' : 'chacha20-poly1305') as crypto.CipherGCMTypes;
}

/** Opens an envelope; throws when the key is wrong or the envelope is damaged. */
export function openEnvelope(key: Uint8Array, data: Uint8Array): Buffer {
  const cipher = envelopeCipher(data);
  if (cipher === undefined) return Buffer.from(data);
  if (data.length < ENVELOPE_OVERHEAD) throw new Error(`envelope of ${data.length} bytes is shorter than the ${ENVELOPE_OVERHEAD}-byte overhead`);
  const nonce = data.subarray(1, 1 + NONCE_LEN);
  const tag = data.subarray(data.length - TAG_LEN);
  const d = crypto.createDecipheriv(algorithm(cipher), key, nonce, { authTagLength: TAG_LEN }) as crypto.DecipherGCM;
  d.setAuthTag(tag);
  return Buffer.concat([d.update(data.subarray(1 + NONCE_LEN, data.length - TAG_LEN)), d.final()]);
}

/** Seals a payload like the reference does; empty payloads stay empty (not encrypted). */
export function sealEnvelope(cipher: ReferenceCipher, key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): Buffer {
  if (plain.length === 0) return Buffer.alloc(0);
  const c = crypto.createCipheriv(algorithm(cipher), key, nonce, { authTagLength: TAG_LEN }) as crypto.CipherGCM;
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([Buffer.from([CODE[cipher]]), nonce, body, c.getAuthTag()]);
}

/** The reference's nonce sequence: 4 random bytes + BE counter, the whole 12 bytes incremented. */
export class NonceSequence {
  private readonly nonce: Buffer;
  constructor(prefix: Uint8Array, counter: bigint) {
    this.nonce = Buffer.alloc(NONCE_LEN);
    Buffer.from(prefix).copy(this.nonce, 0, 0, 4);
    this.nonce.writeBigUInt64BE(counter, 4);
  }
  /** The nonce to use now; the sequence then moves on by one. */
  next(): Buffer {
    const out = Buffer.from(this.nonce);
    for (let i = NONCE_LEN - 1; i >= 0; i--) {
      this.nonce[i] = (this.nonce[i] + 1) & 0xff;
      if (this.nonce[i] !== 0) break;
    }
    return out;
  }
}
