/**
 * NUID-style unique identifiers: 22 base-62 characters = a 12-char random prefix plus a
 * 10-char sequence. Inboxes and ids are generated on hot paths (every request), so after
 * the prefix is drawn from crypto randomness the next id costs one addition and a short
 * base-62 encode, no syscall. Unpredictability only matters across processes (to avoid
 * inbox collisions), which the random prefix covers; the prefix is re-drawn when the
 * sequence wraps.
 */
import { randomBytes } from 'node:crypto';

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62;
const PREFIX_LEN = 12;
const SEQ_LEN = 10;
// 62^10 exceeds 2^53, so the sequence is capped at 2^52: plain number arithmetic stays
// exact and 10 base-62 digits always suffice.
const SEQ_LIMIT = 2 ** 52;
const MIN_INC = 33;
const MAX_INC = 333;

export class Nuid {
  private prefix = '';
  private seq = 0;
  private inc = 0;

  constructor() {
    this.reset();
  }

  /** Re-draws the random prefix and the sequence start/increment. */
  reset(): void {
    const rnd = randomBytes(PREFIX_LEN + 8);
    let p = '';
    for (let i = 0; i < PREFIX_LEN; i++) p += DIGITS[rnd[i] % BASE];
    this.prefix = p;
    // Random start and increment keep ids from different generators with equal prefixes
    // (practically impossible anyway) from walking in lockstep.
    this.seq = Math.floor((rnd.readUInt32BE(PREFIX_LEN) / 0x1_0000_0000) * (SEQ_LIMIT / 2));
    this.inc = MIN_INC + (rnd.readUInt32BE(PREFIX_LEN + 4) % (MAX_INC - MIN_INC));
  }

  next(): string {
    this.seq += this.inc;
    if (this.seq >= SEQ_LIMIT) this.reset();
    let n = this.seq;
    let s = '';
    for (let i = 0; i < SEQ_LEN; i++) {
      s = DIGITS[n % BASE] + s;
      n = Math.floor(n / BASE);
    }
    return this.prefix + s;
  }
}

const shared = new Nuid();

/** A fresh 22-character NUID from a process-wide generator. */
export function nuid(): string {
  return shared.next();
}
