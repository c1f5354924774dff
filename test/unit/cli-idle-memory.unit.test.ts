import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as vm from 'node:vm';
import { CHECK_MS, IdleMemoryRelease, QUIET_CHECKS, QUIET_UTILIZATION, RETRY_MS, YOUNG_IDLE_BYTES, v8FullGc, type IdleMemoryProbe } from '../../src/cli/idle-memory';

const MB = 1024 * 1024;
const QUIET = QUIET_UTILIZATION / 10;
const BUSY = 0.5;

/** A scripted process: the utilization of each period, the young generation, a GC that shrinks it (or not). */
class FakeProcess implements IdleMemoryProbe {
  busy = QUIET;
  young = 32 * MB;
  /** What a GC leaves of the young generation. */
  afterGc = 1 * MB;
  time = 0;
  gcs = 0;
  busyFraction(): number {
    return this.busy;
  }
  youngBytes(): number {
    return this.young;
  }
  gc(): void {
    this.gcs++;
    this.young = this.afterGc;
  }
  now(): number {
    return this.time;
  }
}

/** Runs `n` periods with the probe as it is. */
function periods(r: IdleMemoryRelease, p: FakeProcess, n: number): void {
  for (let i = 0; i < n; i++) {
    p.time += CHECK_MS;
    r.check();
  }
}

test('idle memory: never a GC while busy, however large the young generation, nor while it is small', () => {
  for (const [busy, young] of [
    [BUSY, 32 * MB],
    [QUIET, YOUNG_IDLE_BYTES],
  ]) {
    const p = new FakeProcess();
    p.busy = busy;
    p.young = young;
    periods(new IdleMemoryRelease(p), p, 50);
    assert.equal(p.gcs, 0, `busy ${busy}, young ${young}`);
  }
});

test('idle memory: one GC after QUIET_CHECKS quiet periods in a row, none once the young generation is small', () => {
  const p = new FakeProcess();
  const r = new IdleMemoryRelease(p);
  periods(r, p, QUIET_CHECKS - 1);
  assert.equal(p.gcs, 0, 'not after fewer quiet periods');
  periods(r, p, 1);
  assert.equal(p.gcs, 1);
  periods(r, p, 100);
  assert.equal(p.gcs, 1, 'the young generation shrank: nothing more to give back');
});

test('idle memory: a busy period in between starts the count again', () => {
  const p = new FakeProcess();
  const r = new IdleMemoryRelease(p);
  for (let i = 0; i < 20; i++) {
    periods(r, p, QUIET_CHECKS - 1);
    p.busy = BUSY;
    periods(r, p, 1);
    p.busy = QUIET;
  }
  assert.equal(p.gcs, 0);
});

test('idle memory: a GC after which V8 kept the young generation is retried after RETRY_MS, not every period', () => {
  const p = new FakeProcess();
  p.afterGc = p.young;
  const r = new IdleMemoryRelease(p);
  periods(r, p, QUIET_CHECKS);
  assert.equal(p.gcs, 1);
  periods(r, p, Math.floor(RETRY_MS / CHECK_MS) - 1);
  assert.equal(p.gcs, 1, 'not again within RETRY_MS');
  periods(r, p, QUIET_CHECKS + 1);
  assert.equal(p.gcs, 2, 'again once RETRY_MS passed');
});

test('idle memory: a new burst that grows the young generation again is collected at once when quiet', () => {
  const p = new FakeProcess();
  p.afterGc = 16 * MB;
  const r = new IdleMemoryRelease(p);
  periods(r, p, QUIET_CHECKS);
  assert.equal(p.gcs, 1);
  p.busy = BUSY;
  p.young = 32 * MB;
  periods(r, p, 1);
  p.busy = QUIET;
  periods(r, p, QUIET_CHECKS);
  assert.equal(p.gcs, 2, 'grown beyond what the last GC left: no RETRY_MS wait');
});

test('idle memory: the V8 GC is found without --expose-gc, and the flag is off again afterwards', () => {
  const gc = v8FullGc();
  assert.equal(typeof gc, 'function');
  gc?.();
  // A context made now does not get `gc`: the flag was restored (the code cache's flag check
  // sees the flags it always saw).
  assert.equal(vm.runInNewContext('typeof gc'), 'undefined');
});
