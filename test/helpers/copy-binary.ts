/**
 * Parses what CopyBinaryStream.finish() sends (CopyData messages holding a COPY binary stream:
 * header, 5-field tuples, trailer; then CopyDone) back into rows, for the encoder tests.
 */
import assert from 'node:assert/strict';

export interface CopiedRow {
  channelID: number;
  seq: number;
  ts: number;
  size: number;
  data: Buffer;
}

export function parseCopyBinary(frames: readonly Buffer[]): CopiedRow[] {
  const all = copyPayload(frames);
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

/** The COPY data inside the protocol messages: every CopyData ('d') payload in order, CopyDone ('c') last. */
function copyPayload(frames: readonly Buffer[]): Buffer {
  const wire = Buffer.concat(frames);
  const parts: Buffer[] = [];
  let p = 0;
  let done = false;
  while (p < wire.length) {
    assert.equal(done, false, 'nothing after CopyDone');
    const type = String.fromCharCode(wire[p]);
    const len = wire.readInt32BE(p + 1);
    if (type === 'd') parts.push(wire.subarray(p + 5, p + 1 + len));
    else {
      assert.equal(type, 'c', 'CopyData or CopyDone messages only');
      assert.equal(len, 4);
      done = true;
    }
    p += 1 + len;
  }
  assert.equal(p, wire.length, 'whole messages');
  assert.ok(done, 'ends with CopyDone');
  return Buffer.concat(parts);
}
