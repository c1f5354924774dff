/**
 * CRC-32 with a configurable reflected polynomial (reference-stores.md §2.10): the reference's
 * `file_crc_poly` changes every record and index CRC, and the store does not record which
 * polynomial was used, so the caller passes the same value the reference ran with.
 */

/** Go's crc32.IEEE in reflected form (the reference default, zlib-compatible). */
export const IEEE_POLY = 0xedb88320;

const tables = new Map<number, Uint32Array>();

function table(poly: number): Uint32Array {
  let t = tables.get(poly);
  if (t === undefined) {
    t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
      t[i] = c >>> 0;
    }
    tables.set(poly, t);
  }
  return t;
}

export function crc32(data: Uint8Array, poly: number = IEEE_POLY): number {
  const t = table(poly >>> 0);
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
