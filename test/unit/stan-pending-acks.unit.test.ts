/**
 * A subscription's pending acks (src/stan/pending-acks.ts) behave as the Map they replace:
 * in-order catch-up traffic, out-of-order acks, sequences added below the window (a queue
 * member taking over another's messages), expirations updated in place (redelivery), a window
 * wider than the ring's limit, clear (an admin reset); and a long random sequence of
 * operations checked against a Map step by step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingAcks } from '../../src/stan/pending-acks';

function sorted(p: PendingAcks): Array<[number, number]> {
  return p.entries().sort((a, b) => a[0] - b[0]);
}

function same(p: PendingAcks, m: Map<number, number>, note: string): void {
  assert.equal(p.size, m.size, `${note}: size`);
  assert.deepEqual(sorted(p), [...m.entries()].sort((a, b) => a[0] - b[0]), `${note}: entries`);
  assert.deepEqual(p.keys().sort((a, b) => a - b), [...m.keys()].sort((a, b) => a - b), `${note}: keys`);
  assert.deepEqual(p.values().sort((a, b) => a - b), [...m.values()].sort((a, b) => a - b), `${note}: values`);
}

test('in-order sends and acks: a sliding window, sizes and expirations exact', () => {
  const p = new PendingAcks();
  for (let s = 1; s <= 10_000; s++) p.set(s, 1000 + s);
  assert.equal(p.size, 10_000);
  for (let s = 1; s <= 100_000; s++) {
    assert.equal(p.get(s), 1000 + s);
    assert.equal(p.delete(s), true);
    assert.equal(p.has(s), false);
    p.set(s + 10_000, 1000 + s + 10_000);
    assert.equal(p.size, 10_000);
  }
  assert.equal(p.delete(5), false, 'an acked sequence is not pending any more');
  assert.deepEqual(p.keys().slice(0, 3), [100_001, 100_002, 100_003]);
});

test('out-of-order acks leave exactly the unacked ones; the oldest unacked keeps the window open', () => {
  const p = new PendingAcks();
  for (let s = 1; s <= 100; s++) p.set(s, s);
  for (let s = 100; s >= 2; s--) if (s % 7 !== 0) p.delete(s);
  assert.deepEqual(p.keys(), [1, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98]);
  p.delete(1);
  p.delete(49);
  assert.deepEqual(p.keys(), [7, 14, 21, 28, 35, 42, 56, 63, 70, 77, 84, 91, 98]);
  assert.equal(p.get(98), 98);
});

test('a sequence below the window, a re-added acked one, and an expiration updated in place', () => {
  const p = new PendingAcks();
  for (let s = 50; s < 60; s++) p.set(s, 0); // recovered: expiration unknown
  p.set(10, 5); // moved here from another queue member
  p.delete(55);
  p.set(55, 7); // sent again
  p.set(52, 99); // redelivered: new expiration
  p.set(10, 6);
  assert.deepEqual(sorted(p), [[10, 6], [50, 0], [51, 0], [52, 99], [53, 0], [54, 0], [55, 7], [56, 0], [57, 0], [58, 0], [59, 0]]);
  for (let s = 50; s < 60; s++) p.delete(s);
  assert.deepEqual(sorted(p), [[10, 6]]);
  p.set(200, 1); // the ring is empty: a new window starts, the Map entry stays
  p.set(10, 8);
  assert.deepEqual(sorted(p), [[10, 8], [200, 1]]);
  assert.equal(p.delete(10), true);
  assert.equal(p.delete(10), false);
  assert.deepEqual(sorted(p), [[200, 1]]);
});

test('one old unacked sequence far behind new ones: the window stays bounded, nothing is lost', () => {
  const p = new PendingAcks();
  p.set(1, 1);
  for (let s = 2; s <= 400_000; s++) {
    p.set(s, s);
    p.delete(s);
  }
  p.set(400_001, 3);
  assert.deepEqual(sorted(p), [[1, 1], [400_001, 3]]);
  p.delete(1);
  assert.deepEqual(sorted(p), [[400_001, 3]]);
});

test('clear (an operator reset) forgets everything; the set is usable again', () => {
  const p = new PendingAcks();
  for (let s = 1; s <= 50; s++) p.set(s * 3, s);
  p.set(1, 1);
  p.clear();
  assert.equal(p.size, 0);
  assert.equal(p.has(3), false);
  assert.equal(p.has(1), false);
  p.set(7, 70);
  assert.deepEqual(sorted(p), [[7, 70]]);
});

test('random operations agree with a Map at every step', () => {
  let x = 12345;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const p = new PendingAcks();
  const m = new Map<number, number>();
  let next = 1;
  for (let i = 0; i < 60_000; i++) {
    const op = rnd(100);
    if (op < 40) {
      const s = next;
      next += 1 + (rnd(10) === 0 ? rnd(300) : 0); // gaps, sometimes wide
      p.set(s, i);
      m.set(s, i);
    } else if (op < 75) {
      const keys = [...m.keys()];
      const s = keys.length > 0 && rnd(4) > 0 ? keys[rnd(Math.min(keys.length, 5))] : rnd(next + 10);
      assert.equal(p.delete(s), m.delete(s), `delete ${s} at step ${i}`);
    } else if (op < 85) {
      const s = rnd(next + 5); // anywhere: below, inside or above the window
      p.set(s, -i);
      m.set(s, -i);
    } else if (op < 99) {
      const s = rnd(next + 5);
      assert.equal(p.has(s), m.has(s), `has ${s} at step ${i}`);
      assert.equal(p.get(s), m.get(s), `get ${s} at step ${i}`);
    } else {
      if (rnd(20) === 0) {
        p.clear();
        m.clear();
      }
      same(p, m, `step ${i}`);
    }
    assert.equal(p.size, m.size, `size at step ${i}`);
  }
  same(p, m, 'end');
});
