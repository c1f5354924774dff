/**
 * The shared varint readers (src/protocol/varint.ts): values at the group boundaries up to
 * 2^64, the position after the varint, and the two failures (truncated, longer than 10 bytes)
 * reported as sentinels instead of values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  halvesToNumber,
  readBigVarint,
  readVarint,
  VARINT_TOO_LONG,
  VARINT_TRUNCATED,
  varintEnd,
  varintToNearestNumber,
} from '../../src/protocol/varint';

/** Reference encoder (bigint, unsigned LEB128), independent of the code under test. */
function encode(v: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

const VALUES = [0n, 1n, 127n, 128n, 16383n, 16384n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];

test('readBigVarint: exact up to 2^64 - 1, at an offset, end position after the varint', () => {
  for (const v of VALUES) {
    const bytes = Uint8Array.from([0xee, ...encode(v), 0xee]);
    assert.equal(readBigVarint(bytes, 1, bytes.length), v, `value ${v}`);
    assert.equal(varintEnd.pos, 1 + encode(v).length, `end of ${v}`);
  }
});

test('readVarint: exact up to 2^53, the double sum of the groups above', () => {
  for (const v of VALUES) {
    const bytes = Uint8Array.from([...encode(v), 0x01]);
    const got = readVarint(bytes, 0, bytes.length);
    if (v <= 2n ** 53n) assert.equal(got, Number(v), `value ${v}`);
    else assert.ok(Math.abs(got - Number(v)) / Number(v) < 1e-15, `value ${v} ~ ${got}`);
    assert.equal(varintEnd.pos, encode(v).length);
  }
});

test('truncated and over-long varints are sentinels, and the end position is left alone', () => {
  varintEnd.pos = 42;
  assert.equal(readVarint(Uint8Array.of(0x80, 0x80), 0, 2), VARINT_TRUNCATED);
  assert.equal(readVarint(Uint8Array.of(0x05), 0, 0), VARINT_TRUNCATED, 'the end bound is respected');
  assert.equal(readBigVarint(Uint8Array.of(0xff), 0, 1), BigInt(VARINT_TRUNCATED));
  const eleven = new Uint8Array(11).fill(0x80);
  eleven[10] = 0x01;
  assert.equal(readVarint(eleven, 0, eleven.length), VARINT_TOO_LONG);
  assert.equal(readBigVarint(eleven, 0, eleven.length), BigInt(VARINT_TOO_LONG));
  assert.equal(varintEnd.pos, 42);
});

test('varintToNearestNumber and halvesToNumber round once, like Number(bigint)', () => {
  for (const v of [0n, 1n, 2n ** 53n + 1n, 2n ** 62n + 3n, 2n ** 63n - 1n, 1_796_520_990_264_663_943n]) {
    const bytes = Uint8Array.from(encode(v));
    assert.equal(varintToNearestNumber(bytes, 0, bytes.length), Number(v), `value ${v}`);
    assert.equal(halvesToNumber(Number(v & 0xffffffffn), Number(v >> 32n)), Number(v));
  }
});
