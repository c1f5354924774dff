import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MSG_RING_GAP, MsgRing } from '../../src/store/limits/msg-ring';

function put(r: MsgRing, text: string, ts: number): void {
  const b = Buffer.from(text);
  const chunk = r.append(b.length, ts);
  b.copy(chunk, r.lastOffset);
}

test('msg ring: messages read back in order, with their timestamps, across chunks', () => {
  const r = new MsgRing();
  for (let i = 0; i < 5000; i++) put(r, `message-${i}`, i * 10);
  assert.equal(r.len, 5000);
  for (const k of [0, 1, 777, 4999]) {
    assert.equal(r.bytesAt(k)?.toString(), `message-${k}`);
    assert.equal(r.tsAt(k), k * 10);
  }
  assert.ok(r.chunkBytes > 1024, 'more than one chunk');
});

test('msg ring: gaps have no bytes and keep the index aligned', () => {
  const r = new MsgRing();
  put(r, 'a', 1);
  r.appendGap(1);
  put(r, 'c', 3);
  assert.equal(r.bytesAt(1), undefined);
  assert.equal(r.sizeAt(1), MSG_RING_GAP);
  assert.equal(r.bytesAt(2)?.toString(), 'c');
  assert.equal(r.bytes, 2);
});

test('msg ring: dropping the oldest releases their chunks; views handed out stay valid', () => {
  const r = new MsgRing();
  for (let i = 0; i < 20_000; i++) put(r, `m${i}`.padEnd(100, '.'), i);
  const early = r.bytesAt(0);
  const full = r.chunkBytes;
  for (let i = 0; i < 19_990; i++) assert.ok(r.shift() > 0);
  assert.equal(r.len, 10);
  assert.ok(r.chunkBytes < full / 4, `chunks released (${r.chunkBytes} of ${full} left)`);
  assert.equal(r.bytesAt(0)?.toString().replace(/\.+$/, ''), 'm19990');
  assert.equal(early?.toString().replace(/\.+$/, ''), 'm0');
  while (r.len > 0) r.shift();
  assert.equal(r.chunkBytes, 0);
  assert.equal(r.bytes, 0);
});

test('msg ring: a message larger than a chunk gets a chunk of its own', () => {
  const r = new MsgRing();
  put(r, 'small', 1);
  put(r, 'x'.repeat(600_000), 2);
  put(r, 'after', 3);
  assert.equal(r.bytesAt(1)?.length, 600_000);
  assert.equal(r.bytesAt(2)?.toString(), 'after');
  assert.equal(r.bytes, 600_010);
});

test('msg ring: growShared grows in SharedArrayBuffer chunks until the first release, ordinary ones after', () => {
  const r = new MsgRing({ growShared: true });
  for (let i = 0; i < 20_000; i++) put(r, `m${i}`.padEnd(100, '.'), i);
  const first = r.bytesAt(0);
  assert.ok(first?.buffer instanceof SharedArrayBuffer, 'chunks of a growing ring are shared');
  assert.equal(first?.toString().replace(/\.+$/, ''), 'm0');
  // Dropping the oldest releases chunks: from then on chunks are ordinary (accounted) memory.
  for (let i = 0; i < 19_000; i++) r.shift();
  for (let i = 20_000; i < 40_000; i++) put(r, `m${i}`.padEnd(100, '.'), i);
  const last = r.bytesAt(r.len - 1);
  assert.ok(last?.buffer instanceof ArrayBuffer && !(last.buffer instanceof SharedArrayBuffer), 'chunks after a release are ordinary');
  assert.equal(last?.toString().replace(/\.+$/, ''), 'm39999');
  // Without the option every chunk is ordinary.
  const plain = new MsgRing();
  put(plain, 'x', 1);
  assert.ok(!(plain.bytesAt(0)?.buffer instanceof SharedArrayBuffer));
});
