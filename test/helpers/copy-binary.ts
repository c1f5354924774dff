/** Parses a PostgreSQL COPY binary stream (header, 5-field tuples, trailer) back into rows, for the encoder tests. */
import assert from 'node:assert/strict';

export interface CopiedRow {
  channelID: number;
  seq: number;
  ts: number;
  size: number;
  data: Buffer;
}

export function parseCopyBinary(chunks: readonly Buffer[]): CopiedRow[] {
  const all = Buffer.concat(chunks);
  assert.equal(all.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
  const out: CopiedRow[] = [];
  let p = 19;
  while (all.readInt16BE(p) !== -1) {
    assert.equal(all.readInt16BE(p), 5);
    p += 2;
    const fields: Buffer[] = [];
    for (let f = 0; f < 5; f++) {
      const len = all.readInt32BE(p);
      fields.push(all.subarray(p + 4, p + 4 + len));
      p += 4 + len;
    }
    out.push({
      channelID: Number(fields[0].readBigInt64BE(0)),
      seq: Number(fields[1].readBigInt64BE(0)),
      ts: Number(fields[2].readBigInt64BE(0)),
      size: fields[3].readInt32BE(0),
      data: Buffer.from(fields[4]),
    });
  }
  assert.equal(p + 2, all.length, 'nothing after the trailer');
  return out;
}
