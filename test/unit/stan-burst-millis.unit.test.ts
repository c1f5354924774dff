/**
 * The ack deadlines' clock (src/stan/burst-millis.ts): one reading of `now()` per synchronous
 * burst, a fresh one after a microtask checkpoint, so deadlines never lag a burst behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BurstMillis } from '../../src/stan/burst-millis';
import { FakeClock } from '../helpers/fake-clock';

class CountingClock extends FakeClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

test('deliveries of one burst share a reading; the next burst reads the clock again', async () => {
  const clock = new CountingClock(1_000);
  const b = new BurstMillis(clock);
  const first = b.now();
  void clock.advance(7);
  assert.equal(b.now(), first);
  assert.equal(clock.reads, 1);
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  assert.equal(b.now(), first + 7);
  assert.equal(clock.reads, 2);
});
