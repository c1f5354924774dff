import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MSG_RING_GAP, MsgRing } from '../../src/store/limits/msg-ring';
import { SharedChunkBudget } from '../../src/store/limits/shared-chunk-budget';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

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
  const r = new MsgRing({ growShared: new SharedChunkBudget(64 * 1024 * 1024) });
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

test('msg ring: shared chunks only within the process budget of shared bytes not yet collected; collected chunks give their bytes back', async () => {
  v8.setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const budget = new SharedChunkBudget(256 * 1024);
  // Rings created and dropped (channels deleted before any release): each starts shared.
  let r: MsgRing | undefined = new MsgRing({ growShared: budget });
  for (let i = 0; i < 8_000; i++) put(r, `m${i}`.padEnd(100, '.'), i);
  assert.ok(r.bytesAt(0)?.buffer instanceof SharedArrayBuffer, 'the first chunks are shared');
  assert.ok(!(r.bytesAt(r.len - 1)?.buffer instanceof SharedArrayBuffer), 'past the budget chunks are ordinary');
  assert.ok(budget.bytes > 0 && budget.bytes <= 256 * 1024, `budget bytes ${budget.bytes}`);
  // What is left of the budget taken (less than the ring's next chunk was), then a new ring.
  let filler = budget.take(budget.limitBytes - budget.bytes);
  assert.ok(filler !== undefined && budget.bytes === budget.limitBytes);
  const second = new MsgRing({ growShared: budget });
  put(second, 'x'.repeat(100), 1);
  assert.ok(!(second.bytesAt(0)?.buffer instanceof SharedArrayBuffer), 'a new ring past the budget grows in ordinary chunks');
  r = undefined;
  filler = undefined;
  // Finalizers run after the collection, in a later task.
  for (let i = 0; i < 10 && budget.bytes > 0; i++) {
    gc();
    await new Promise((res) => setTimeout(res, 10));
  }
  assert.equal(budget.bytes, 0, 'collected shared chunks are no longer counted');
  const third = new MsgRing({ growShared: budget });
  put(third, 'y'.repeat(100), 1);
  assert.ok(third.bytesAt(0)?.buffer instanceof SharedArrayBuffer, 'the budget is free again');
});
