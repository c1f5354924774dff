/**
 * When the code cache is written (src/launch/cache-timing.ts): work beyond the start-up (the
 * SQL store's Knex made in the background) writes it first, once the server serves; before
 * serving, that work is start-up code and is kept in the cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheSaveTiming } from '../../src/launch/cache-timing';
import type { CacheKind, CacheSave } from '../../src/launch/code-cache';

function recorder(): { saves: CacheKind[]; cache: { save(kind: CacheKind): CacheSave } } {
  const saves: CacheKind[] = [];
  return {
    saves,
    cache: {
      save: (kind): CacheSave => {
        saves.push(kind);
        return 'written';
      },
    },
  };
}

test('beyondStartup after serving: the cache is written then, complete', () => {
  const r = recorder();
  const timers: Array<() => void> = [];
  const t = new CacheSaveTiming(r.cache, (fn) => timers.push(fn));
  t.serving();
  t.beyondStartup();
  assert.deepEqual(r.saves, ['complete']);
});

test('beyondStartup before serving writes nothing: the run needs that code to serve', () => {
  const r = recorder();
  const t = new CacheSaveTiming(r.cache, () => undefined);
  t.beyondStartup();
  assert.deepEqual(r.saves, []);
  t.stopping();
  assert.deepEqual(r.saves, ['partial']);
});

test('a run that did one-off work writes no cache, beyondStartup or not', () => {
  const r = recorder();
  const t = new CacheSaveTiming(r.cache, () => undefined);
  t.oneOff('migration');
  t.serving();
  t.beyondStartup();
  assert.deepEqual(r.saves, []);
});
