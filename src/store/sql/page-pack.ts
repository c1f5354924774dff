/**
 * A cold page (cold-pages.ts) as one buffer: every row as int64 seq | int64 ts | uint32 length
 * | data, big-endian, in sequence order. PostgreSQL builds it in the query (page-reads.ts); the
 * FILE store's thread builds it from its SQLite rows (sqlite-write-worker.ts) and transfers it
 * to the main thread as one ArrayBuffer: one message per page instead of a Buffer object per
 * row crossing threads.
 */

const HEADER = 20;
const TWO_32 = 4294967296;

/** A page row as better-sqlite3 returns it in raw mode: seq, ts, data. */
export type RawPageRow = [number | bigint, number | bigint, Uint8Array];

/** DataView setters: Buffer's writeInt32BE validates every call (~1 µs per packed row in the thread's profile). */
function writeInt64(view: DataView, v: number | bigint, at: number): void {
  const n = typeof v === 'bigint' ? Number(v) : v;
  // High half signed (Math.floor keeps negative values exact), low half unsigned.
  const hi = Math.floor(n / TWO_32);
  view.setInt32(at, hi);
  view.setUint32(at + 4, n - hi * TWO_32);
}

/** Packs the rows (in sequence order) into one new buffer; null for no rows. */
export function packPageRows(rows: readonly RawPageRow[]): Buffer | null {
  if (rows.length === 0) return null;
  let size = 0;
  for (let i = 0; i < rows.length; i++) size += HEADER + rows[i][2].length;
  // allocUnsafeSlow: a buffer of its own (its ArrayBuffer is transferred whole).
  const out = Buffer.allocUnsafeSlow(size);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  let p = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const data = r[2];
    writeInt64(view, r[0], p);
    writeInt64(view, r[1], p + 8);
    view.setUint32(p + 16, data.length);
    out.set(data, p + HEADER);
    p += HEADER + data.length;
  }
  return out;
}

/** Calls `row` for every row of a packed page, in order; `source` names it in errors. */
export function unpackPage(packed: Buffer, source: string, row: (seq: number, ts: number, data: Buffer) => void): void {
  let p = 0;
  while (p < packed.length) {
    if (p + HEADER > packed.length) throw new Error(`cold page from ${source} cut short at byte ${p} of ${packed.length}`);
    // Each int64 as a signed high half and an unsigned low half: one rounding, as Number() of the decimal.
    const seq = packed.readInt32BE(p) * TWO_32 + packed.readUInt32BE(p + 4);
    const ts = packed.readInt32BE(p + 8) * TWO_32 + packed.readUInt32BE(p + 12);
    const len = packed.readUInt32BE(p + 16);
    p += HEADER;
    if (p + len > packed.length) throw new Error(`cold page from ${source} cut short in the row of seq ${seq}`);
    row(seq, ts, packed.subarray(p, p + len));
    p += len;
  }
}
