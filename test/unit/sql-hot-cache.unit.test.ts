import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { HotCache } from '../../src/store/sql/hot-cache';

function add(c: HotCache, seq: number, text: string, ts = seq): void {
  const b = Buffer.from(text);
  b.copy(c.add(seq, ts, b.length), c.lastOffset);
}

test('hot cache: keeps the newest messages within its count bound', () => {
  const c = new HotCache(100, 1 << 20);
  for (let s = 1; s <= 250; s++) add(c, s, `m${s}`);
  assert.equal(c.get(150), undefined);
  assert.equal(c.get(151)?.bytes.toString(), 'm151');
  assert.deepEqual({ seq: c.get(250)?.seq, ts: c.get(250)?.timestamp }, { seq: 250, ts: 250 });
});

test('hot cache: bounded by bytes whatever the count, always keeping the newest', () => {
  const c = new HotCache(10_000, 10_000);
  for (let s = 1; s <= 100; s++) add(c, s, 'x'.repeat(1000));
  assert.equal(c.get(90), undefined);
  assert.ok(c.get(91) !== undefined);
  add(c, 101, 'y'.repeat(50_000));
  assert.equal(c.get(100), undefined);
  assert.equal(c.get(101)?.bytes.length, 50_000);
});

test('hot cache: refused and truncated messages are gone; a sequence jump starts again', () => {
  const c = new HotCache(100, 1 << 20);
  for (let s = 1; s <= 10; s++) add(c, s, `m${s}`, s * 10);
  c.remove(5);
  assert.equal(c.get(5), undefined);
  assert.equal(c.get(6)?.bytes.toString(), 'm6');
  c.dropBelow(4);
  assert.equal(c.get(3), undefined);
  add(c, 500, 'far');
  assert.equal(c.get(10), undefined);
  assert.equal(c.get(500)?.bytes.toString(), 'far');
});
