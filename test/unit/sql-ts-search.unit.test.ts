/**
 * The timestamp searches without an index on `ts` (src/store/sql/ts-search.ts): the binary
 * search through the primary key and the one over the hot ring give the first message at or
 * after a time, as a scan does, with rows missing (gaps), equal timestamps and bounds on
 * either side; and stay O(log n) in probes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { firstHotReaching, firstStoredReaching, type RowProbe } from '../../src/store/sql/ts-search';
import { HotRing } from '../../src/store/limits/hot-ring';

/** A deterministic pseudo-random sequence (the cases are the same on every run). */
function lcg(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

interface Rows {
  seqs: number[];
  ts: Map<number, number>;
}

/** Rows from..to with non-decreasing timestamps, equal runs, and some sequences missing. */
function makeRows(rnd: () => number, from: number, to: number, gapRate: number): Rows {
  const seqs: number[] = [];
  const ts = new Map<number, number>();
  let t = 1_000;
  for (let s = from; s <= to; s++) {
    if (rnd() < 0.6) t += 1 + Math.floor(rnd() * 5);
    if (rnd() < gapRate) continue;
    seqs.push(s);
    ts.set(s, t);
  }
  return { seqs, ts };
}

function probeOf(rows: Rows, calls: { n: number }): RowProbe {
  return (from, end) => {
    calls.n++;
    const seq = rows.seqs.find((s) => s >= from && s < end);
    return Promise.resolve(seq === undefined ? undefined : { seq, ts: rows.ts.get(seq) ?? 0 });
  };
}

test('firstStoredReaching: the first row at or after a time, as a scan finds it, gaps and equal timestamps included', async () => {
  const rnd = lcg(7);
  for (let round = 0; round < 40; round++) {
    const from = 1 + Math.floor(rnd() * 50);
    const to = from + Math.floor(rnd() * 300);
    const rows = makeRows(rnd, from, to, round % 4 === 0 ? 0 : 0.3);
    const stamps = [...rows.ts.values()];
    const targets = [0, ...stamps, ...stamps.map((t) => t + 1), Number.MAX_SAFE_INTEGER];
    for (const t of targets) {
      const calls = { n: 0 };
      const want = rows.seqs.find((s) => (rows.ts.get(s) ?? 0) >= t);
      const got = await firstStoredReaching(probeOf(rows, calls), from, to + 1, (x) => x >= t);
      assert.deepEqual(got, want === undefined ? undefined : { seq: want, ts: rows.ts.get(want) }, `round ${round}, time ${t}`);
      // Each probe halves the range at least: O(log n) point reads.
      assert.ok(calls.n <= 2 + Math.ceil(Math.log2(to - from + 2)), `${calls.n} probes for ${to - from + 1} sequences`);
    }
  }
});

test('firstStoredReaching: an empty range, and a range whose rows are all missing', async () => {
  const calls = { n: 0 };
  const none: Rows = { seqs: [], ts: new Map() };
  assert.equal(await firstStoredReaching(probeOf(none, calls), 5, 5, () => true), undefined);
  assert.equal(calls.n, 0);
  assert.equal(await firstStoredReaching(probeOf(none, calls), 1, 1000, () => true), undefined);
  // Only the end of the range is searched: rows at or above `end` are not answers.
  const above: Rows = { seqs: [1000], ts: new Map([[1000, 1]]) };
  assert.equal(await firstStoredReaching(probeOf(above, calls), 1, 1000, () => true), undefined);
});

test('firstHotReaching: the first held message at or after a time, as a scan finds it', () => {
  const rnd = lcg(11);
  for (let round = 0; round < 30; round++) {
    const ring = new HotRing();
    const start = 1 + Math.floor(rnd() * 1000);
    const n = 1 + Math.floor(rnd() * 200);
    let t = 5_000;
    const stamps: number[] = [];
    for (let k = 0; k < n; k++) {
      if (rnd() < 0.5) t += 1 + Math.floor(rnd() * 3);
      stamps.push(t);
      ring.push(start + k, 10, t);
    }
    // Searched from some held sequence on, as the store does past its cold region.
    const from = start + Math.floor(rnd() * n);
    for (const x of [0, ...stamps, ...stamps.map((s) => s + 1)]) {
      let want: number | undefined;
      for (let s = from; s < start + n; s++) {
        if (stamps[s - start] >= x) {
          want = s;
          break;
        }
      }
      assert.equal(firstHotReaching(ring, from, start + n, (v) => v >= x), want, `round ${round}, time ${x}`);
    }
  }
});
