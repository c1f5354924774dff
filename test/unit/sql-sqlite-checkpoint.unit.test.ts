/**
 * The write thread's checkpoint policy (src/store/sql/sqlite-checkpoint.ts, WalCheckpointer):
 * a checkpoint runs once the thread has been idle (no answer sent for the idle time, nothing
 * queued or held), or right after answers once the estimated WAL pages reach the bound; never
 * when nothing was written since the last one; a failing checkpoint does not throw into the
 * thread. The idle timer is driven by hand here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WalCheckpointer, walPagesOf, takeOverCheckpoints, type IdleTimerFactory } from '../../src/store/sql/sqlite-checkpoint';

function harness(bound = 100): { c: WalCheckpointer; runs: () => number; fire: () => void; setIdle: (v: boolean) => void; fail: (v: boolean) => void; timers: () => number } {
  let runs = 0;
  let idle = true;
  let failing = false;
  let armed: (() => void) | undefined;
  let timers = 0;
  const factory: IdleTimerFactory = (fn) => {
    timers++;
    armed = fn;
    return { refresh: () => (armed = fn) };
  };
  const c = new WalCheckpointer(
    () => {
      runs++;
      if (failing) throw new Error('disk I/O error');
    },
    () => idle,
    bound,
    50,
    factory,
  );
  return {
    c,
    runs: () => runs,
    fire: () => {
      const fn = armed;
      armed = undefined;
      fn?.();
    },
    setIdle: (v) => (idle = v),
    fail: (v) => (failing = v),
    timers: () => timers,
  };
}

test('below the bound, answers only start the idle timer; it checkpoints once it fires while the thread is idle', () => {
  const h = harness();
  h.c.wrote(4096);
  h.c.answered();
  h.c.answered();
  assert.equal(h.runs(), 0, 'no checkpoint while answers are being sent');
  assert.equal(h.timers(), 1, 'one timer, refreshed');
  h.fire();
  assert.equal(h.runs(), 1);
});

test('the idle timer does not checkpoint while a batch is queued or held, nor when nothing was written', () => {
  const h = harness();
  h.c.wrote(4096);
  h.c.answered();
  h.setIdle(false);
  h.fire();
  assert.equal(h.runs(), 0, 'busy: the next answers start the timer again');
  h.setIdle(true);
  h.c.answered();
  h.fire();
  assert.equal(h.runs(), 1);
  h.c.answered();
  h.fire();
  assert.equal(h.runs(), 1, 'nothing written since the last checkpoint');
});

test('at the bound the checkpoint runs right after the answers, busy or not', () => {
  const h = harness(100);
  h.setIdle(false);
  let written = 0;
  while (written < 100) {
    h.c.wrote(40_000);
    written += walPagesOf(40_000);
    if (written < 100) {
      h.c.answered();
      assert.equal(h.runs(), 0, `not before the bound (${written} pages)`);
    }
  }
  h.c.answered();
  assert.equal(h.runs(), 1);
  h.c.answered();
  assert.equal(h.runs(), 1, 'the count starts again after a checkpoint');
});

test('a failing checkpoint is not thrown into the thread, and the next mark tries again', () => {
  const h = harness(10);
  h.fail(true);
  h.c.wrote(100_000);
  assert.doesNotThrow(() => h.c.answered());
  assert.equal(h.runs(), 1);
  h.fail(false);
  h.c.wrote(100_000);
  h.c.answered();
  assert.equal(h.runs(), 2);
});

test('the page estimate grows with the bytes written and counts the pages every transaction rewrites', () => {
  assert.ok(walPagesOf(0) > 0);
  assert.ok(walPagesOf(40_960) > walPagesOf(4096));
  assert.ok(walPagesOf(40_960) >= 10, 'at least the pages the bytes fill');
});

test('the write connection hands its automatic checkpoint over', () => {
  const set: string[] = [];
  takeOverCheckpoints({ pragma: (s: string) => set.push(s) } as unknown as Parameters<typeof takeOverCheckpoints>[0]);
  assert.deepEqual(set, ['wal_autocheckpoint = 0']);
});
