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

type Answer = { busy: number; log: number; checkpointed: number } | undefined | 'throw';

/** Timers driven by hand: the idle timer and the sweep, told apart by their delays. */
function harness(bound = 100): {
  c: WalCheckpointer;
  runs: () => number;
  copied: () => number;
  fire: () => void;
  sweep: () => void;
  setIdle: (v: boolean) => void;
  fail: (v: boolean) => void;
  answer: (a: Answer) => void;
  setFrames: (n: number | undefined) => void;
  timers: () => number;
} {
  let frames: number | undefined;
  let runs = 0;
  let copied = 0;
  let idle = true;
  let next: Answer = { busy: 0, log: 10, checkpointed: 10 };
  let armed: (() => void) | undefined;
  let sweepFn: (() => void) | undefined;
  let timers = 0;
  const factory: IdleTimerFactory = (fn, ms) => {
    if (ms === 1000) {
      sweepFn = fn;
      return { refresh: () => undefined };
    }
    timers++;
    armed = fn;
    return { refresh: () => (armed = fn) };
  };
  const c = new WalCheckpointer(
    {
      checkpoint: () => {
        runs++;
        if (next === 'throw') throw new Error('disk I/O error');
        return next;
      },
      idle: () => idle,
      copiedAll: () => copied++,
      frames: () => frames,
    },
    { bound, idleMs: 50, sweepMs: 1000, timers: factory },
  );
  return {
    c,
    runs: () => runs,
    copied: () => copied,
    fire: () => {
      const fn = armed;
      armed = undefined;
      fn?.();
    },
    sweep: () => sweepFn?.(),
    setIdle: (v) => (idle = v),
    fail: (v) => (next = v ? 'throw' : { busy: 0, log: 10, checkpointed: 10 }),
    answer: (a) => (next = a),
    setFrames: (n) => (frames = n),
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
  assert.equal(h.copied(), 0, 'nothing told copied');
  h.fail(false);
  h.c.wrote(100_000);
  h.c.answered();
  assert.equal(h.runs(), 2);
  assert.equal(h.copied(), 1);
});

test('a complete checkpoint is told (copiedAll); one stopped short by a reader or kept busy is not, and is tried again once idle', () => {
  const h = harness(1000);
  h.c.wrote(4096);
  h.c.answered();
  h.answer({ busy: 0, log: 40, checkpointed: 25 });
  h.fire();
  assert.equal(h.runs(), 1);
  assert.equal(h.copied(), 0, 'stopped short: the main connection keeps its raised mark');
  h.answer({ busy: 1, log: 40, checkpointed: 25 });
  h.fire();
  assert.equal(h.runs(), 2, 'tried again after the idle time, without new answers');
  assert.equal(h.copied(), 0);
  h.answer({ busy: 0, log: 40, checkpointed: 40 });
  h.fire();
  assert.equal(h.runs(), 3);
  assert.equal(h.copied(), 1);
  h.fire();
  assert.equal(h.runs(), 3, 'done: no timer left');
});

test('an incomplete checkpoint while busy leaves half the bound counted: the next answers try again sooner', () => {
  const h = harness(100);
  h.setIdle(false);
  h.answer({ busy: 0, log: 400, checkpointed: 100 });
  h.c.wrote(1_000_000);
  h.c.answered();
  assert.equal(h.runs(), 1);
  h.answer({ busy: 0, log: 10, checkpointed: 10 });
  let n = 0;
  while (h.runs() === 1 && n < 1000) {
    h.c.wrote(4096);
    h.c.answered();
    n++;
  }
  assert.ok(n > 0 && n * walPagesOf(4096) >= 50 && n * walPagesOf(4096) < 100 + walPagesOf(4096), `again after ${n} transactions`);
});

test('the sweep checkpoints when idle even if the thread wrote nothing (an FT lease, commits on the main connection), never while busy', () => {
  const h = harness();
  h.setIdle(false);
  h.sweep();
  assert.equal(h.runs(), 0);
  h.setIdle(true);
  h.sweep();
  assert.equal(h.runs(), 1);
  assert.equal(h.copied(), 1);
});

test('no connection yet (undefined answer): nothing retried, nothing told', () => {
  const h = harness();
  h.answer(undefined);
  h.c.wrote(4096);
  h.c.answered();
  h.fire();
  assert.equal(h.runs(), 1);
  h.fire();
  assert.equal(h.runs(), 1, 'no retry timer');
  assert.equal(h.copied(), 0);
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

test('with the WAL\'s real length known, the bound is on it: frames other connections wrote, or a WAL a complete checkpoint could not start again, count', () => {
  const h = harness(100);
  h.setIdle(false);
  h.setFrames(99);
  h.c.wrote(0);
  h.c.answered();
  assert.equal(h.runs(), 0, 'below the bound');
  h.setFrames(100);
  h.c.answered();
  assert.equal(h.runs(), 1, 'at the bound although the thread itself wrote ~6 pages');
  h.c.answered();
  assert.equal(h.runs(), 2, 'still that long after a complete checkpoint (not started again): again, copying what came meanwhile');
  h.setFrames(3);
  h.c.wrote(10_000_000);
  h.c.answered();
  assert.equal(h.runs(), 2, 'the real length, not the estimate, once known');
});
