/**
 * The writer connection kept between the group commit's writes
 * (src/store/sql/dialect/held-connection.ts), against a stand-in for Knex's client and tarn's
 * pool: it is reused without asking the pool, given back when anyone else asks the pool, when
 * the write on it failed, when Knex marked it disposed or the dialect's check refuses it, when
 * the store closes, and after IDLE_RELEASE_MS unused; a pool without events holds nothing.
 */
import { test, mock } from 'node:test';
import * as assert from 'node:assert/strict';
import { HeldConnection, IDLE_RELEASE_MS } from '../../src/store/sql/dialect/held-connection';

interface Conn {
  id: number;
  __knex__disposed?: unknown;
  valid?: boolean;
}

/** Knex's client with a tarn-like pool: free connections are handed out first, `acquireRequest` fires first. */
function fakeSource(events = true) {
  let next = 1;
  const free: Conn[] = [];
  const listeners: Array<() => void> = [];
  const s = {
    acquired: 0,
    released: [] as Conn[],
    acquireConnection: async (): Promise<unknown> => {
      for (const l of listeners) l();
      s.acquired++;
      return free.pop() ?? { id: next++ };
    },
    releaseConnection: async (c: unknown): Promise<unknown> => {
      s.released.push(c as Conn);
      free.push(c as Conn);
      return undefined;
    },
    validateConnection: (c: unknown): boolean => (c as Conn).valid !== false,
    /** Askers waiting in the pool's queue (tarn's numPendingAcquires). */
    pending: 0,
    pool: events ? { on: (_e: string, l: () => void) => listeners.push(l), numPendingAcquires: (): number => s.pending } : {},
  };
  return s;
}

test('a released connection is reused without the pool', async () => {
  const src = fakeSource();
  const h = new HeldConnection(src);
  const a = await h.acquire();
  h.release(a, false);
  const b = await h.acquire();
  assert.equal(b, a);
  assert.equal(src.acquired, 1);
  assert.deepEqual(src.released, []);
  // Two in use at once: the second comes from the pool, and only one is kept after.
  const c = await h.acquire();
  assert.notEqual(c, b);
  h.release(b, false);
  h.release(c, false);
  assert.deepEqual(src.released, [c]);
  h.close();
});

test('anyone else asking the pool gets the held connection back first', async () => {
  const src = fakeSource();
  const h = new HeldConnection(src);
  const a = await h.acquire();
  h.release(a, false);
  const other = await src.acquireConnection();
  assert.equal(other, a);
  assert.deepEqual(src.released, [a]);
  // Nothing held any more: the next acquire asks the pool.
  const before = src.acquired;
  await h.acquire();
  assert.equal(src.acquired, before + 1);
});

test('a failed write, a disposed or invalid connection goes back to the pool', async () => {
  const src = fakeSource();
  const h = new HeldConnection(src);
  const a = (await h.acquire()) as Conn;
  h.release(a, true);
  assert.deepEqual(src.released, [a]);

  const b = (await h.acquire()) as Conn;
  h.release(b, false);
  b.__knex__disposed = new Error('Connection terminated');
  // Given to the pool (whose validate destroys it), and the pool asked for one.
  const asked = src.acquired;
  await h.acquire();
  assert.equal(src.acquired, asked + 1);
  assert.ok(src.released.includes(b));

  const d = { id: 99, valid: false };
  h.release(d, false);
  assert.ok(src.released.includes(d));
  h.close();
});

test('close gives the held connection back and holds none after', async () => {
  const src = fakeSource();
  const h = new HeldConnection(src);
  const a = await h.acquire();
  h.release(a, false);
  h.close();
  assert.deepEqual(src.released, [a]);
  const b = await h.acquire();
  h.release(b, false);
  assert.deepEqual(src.released, [a, b]);
});

test('a pool without events: every connection goes back at once', async () => {
  const src = fakeSource(false);
  const h = new HeldConnection(src);
  const a = await h.acquire();
  h.release(a, false);
  assert.deepEqual(src.released, [a]);
});

test('unused for IDLE_RELEASE_MS, the connection goes back to the pool', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    let now = 0;
    const src = fakeSource();
    const h = new HeldConnection(src, () => now);
    const a = await h.acquire();
    h.release(a, false);
    // Used again halfway: the check then waits for the rest of the period after that use.
    now = IDLE_RELEASE_MS / 2;
    h.release(await h.acquire(), false);
    now = IDLE_RELEASE_MS;
    mock.timers.tick(IDLE_RELEASE_MS);
    assert.deepEqual(src.released, []);
    now = IDLE_RELEASE_MS * 1.5;
    mock.timers.tick(IDLE_RELEASE_MS / 2);
    assert.deepEqual(src.released, [a]);
  } finally {
    mock.timers.reset();
  }
});

test('someone waiting in the pool when the write ends gets the connection: it is not kept for the next commit', async () => {
  const src = fakeSource();
  const h = new HeldConnection(src);
  const a = await h.acquire();
  // An asker arrived while `a` was in use and the pool was full: it waits in the pool's queue.
  src.pending = 1;
  h.release(a, false);
  assert.deepEqual(src.released, [a], 'given back to the pool for the waiting asker');
  src.pending = 0;
  // The next commit asks the pool again.
  await h.acquire();
  assert.equal(src.acquired, 2);
  h.close();
});
