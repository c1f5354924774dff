/**
 * One clock reading per burst of synchronous publishes (src/stan/burst-clock.ts): calls in
 * the same synchronous run get the same reading and read the clock once; after a microtask
 * checkpoint (the next socket read, the next dispatch) the clock is read again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstClock } from '../../src/stan/burst-clock';
import { FakeClock } from '../helpers/fake-clock';

/** A FakeClock that counts its nowNanos() reads. */
class CountingClock extends FakeClock {
  reads = 0;
  override nowNanos(): number {
    this.reads++;
    return super.nowNanos();
  }
}

const checkpoint = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

test('one reading per synchronous burst, a new one after a microtask checkpoint', async () => {
  const clock = new CountingClock();
  const burst = new BurstClock(clock);
  const first = burst.nanos();
  void clock.advance(5); // moves the time synchronously (no timers armed)
  assert.equal(burst.nanos(), first, 'same burst: same reading');
  assert.equal(burst.nanos(), first);
  assert.equal(clock.reads, 1, 'the clock was read once for the burst');

  await checkpoint();
  const second = burst.nanos();
  assert.equal(second, first + 5 * 1e6, 'the next burst reads the clock again');
  assert.equal(clock.reads, 2);
});

test('a reading of 0 ns is kept for its burst too (no sentinel clash)', async () => {
  const clock = new CountingClock(0);
  const burst = new BurstClock(clock);
  assert.equal(burst.nanos(), 0);
  assert.equal(burst.nanos(), 0);
  assert.equal(clock.reads, 1);
  await checkpoint();
  void clock.advance(1);
  assert.equal(burst.nanos(), 1e6);
  assert.equal(clock.reads, 2);
});
