/** Reproducible random message rows (MsgRowKey + data) for the row encoders' tests. */
import type { MsgRowKey } from '../../src/store/sql/dialect/types';

/** Deterministic pseudo-random numbers in [0, 1) (a failing case can be replayed by its seed). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

export interface RandomRowsOptions {
  /** Payload lengths picked from this list for ~1 row in `1 - smallShare`, else 0–`smallMax`. */
  readonly lengths: readonly number[];
  readonly smallShare: number;
  readonly smallMax: number;
  /** Timestamps picked from this list for half of the rows, else random up to 2^62. */
  readonly ts: readonly number[];
  /** Rows get channel 1–3 and seq firstSeq, firstSeq + 1, … (unique keys for a database); without it random keys. */
  readonly firstSeq?: number;
}

export function randomRows(r: () => number, n: number, o: RandomRowsOptions): { rows: MsgRowKey[]; data: Buffer[] } {
  const rows: MsgRowKey[] = [];
  const data: Buffer[] = [];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < n; i++) {
    const len = r() < o.smallShare ? Math.floor(r() * (o.smallMax + 1)) : pick(o.lengths);
    const d = Buffer.alloc(len);
    for (let j = 0; j < len; j += 61) d[j] = Math.floor(r() * 256);
    data.push(d);
    const ts = r() < 0.5 ? pick(o.ts) : Math.floor(r() * 2 ** 62);
    const key = o.firstSeq === undefined ? { channel_id: 1 + Math.floor(r() * 2 ** 31), seq: Math.floor(r() * 2 ** 40) } : { channel_id: 1 + (i % 3), seq: o.firstSeq + i };
    rows.push({ ...key, ts, size: Math.floor(r() * (len + 1)) });
  }
  return { rows, data };
}
