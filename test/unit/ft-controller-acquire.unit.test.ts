/**
 * The FT/clustering controller's election (src/ft/controller.ts) against a fake lease and a
 * hand-moved monotonic clock: a lease taken by a commit that took most of its duration (a
 * Galera cluster holding commits until a dead node is excluded) is renewed at once instead
 * of waited out; a certification conflict with another candidate is not an outage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FtController, type LeaseOps } from '../../src/ft/controller';
import { captureLogger } from '../helpers/nats-helpers';

const T = { ttlMs: 1500, renewMs: 250, pollMs: 1 };

/** A lease whose operations take the times the test scripts (moving `clock.ms`). */
function fakeLease(clock: { ms: number }, script: { acquire: Array<() => number>; renew: Array<() => boolean> }): LeaseOps & { calls: string[] } {
  const calls: string[] = [];
  return {
    epoch: 0,
    calls,
    async tryAcquire() {
      calls.push('acquire');
      const step = script.acquire.shift();
      if (step === undefined) return 0;
      const e = step();
      this.epoch = e;
      return e;
    },
    async renew() {
      calls.push('renew');
      return (script.renew.shift() ?? (() => false))();
    },
    async release() {},
    async close() {},
  };
}

test('given a lease taken by a commit that took 1.3 s of its 1.5 s, when the renewal is fast, then the node is active at once with a fresh window', async () => {
  const clock = { ms: 0 };
  const lease = fakeLease(clock, { acquire: [() => ((clock.ms += 1300), 7)], renew: [() => ((clock.ms += 5), true)] });
  const log = captureLogger();
  const ctl = new FtController(lease, T, log, () => clock.ms);
  assert.equal(await ctl.waitUntilActive(), 7);
  assert.deepEqual(lease.calls, ['acquire', 'renew'], 'no second acquisition, no wait for expiry');
  assert.ok(ctl.surelyActive(), 'the window counts from the renewal');
  clock.ms += 1300 + 5 + 1200;
  assert.ok(!ctl.surelyActive(), 'and closes 0.8 TTL after it');
  assert.ok(log.lines.some((l) => /taking the lease took 1300 ms, close to its duration; renewed it at once \(5 ms\)/.test(l)), log.lines.join('\n'));
});

test('given a slow acquisition whose renewal is slow too, when waiting, then it tries again rather than serve with a closed gate', async () => {
  const clock = { ms: 0 };
  const lease = fakeLease(clock, {
    acquire: [() => ((clock.ms += 1300), 7), () => ((clock.ms += 3), 8)],
    renew: [() => ((clock.ms += 1250), true)],
  });
  const log = captureLogger();
  const ctl = new FtController(lease, T, log, () => clock.ms);
  assert.equal(await ctl.waitUntilActive(), 8);
  assert.deepEqual(lease.calls, ['acquire', 'renew', 'acquire']);
  assert.ok(log.lines.some((l) => /too close to its duration, and renewing it was as slow; trying again/.test(l)));
});

test('given a certification conflict (errno 1213) with another candidate, when waiting, then it is not reported as an outage', async () => {
  const clock = { ms: 0 };
  const conflict = Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { errno: 1213 });
  const lease = fakeLease(clock, {
    acquire: [
      () => {
        throw conflict;
      },
      () => 4,
    ],
    renew: [],
  });
  const log = captureLogger();
  const ctl = new FtController(lease, T, log, () => clock.ms);
  assert.equal(await ctl.waitUntilActive(), 4);
  assert.ok(!log.lines.some((l) => /cannot reach the lease/.test(l)), log.lines.join('\n'));
});
