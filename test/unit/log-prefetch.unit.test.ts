/**
 * The recovery's prefetched reads (src/store/sql/log-prefetch.ts) are handed out only while the
 * log follower asks exactly what was read, in the order it reads; anything else reads again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefetchedReads, prefetchLog } from '../../src/store/sql/log-prefetch';

const ev = (id: number) => ({ event_id: id, kind: 1, body: Buffer.alloc(0) });

test('events after the mark, then the mark, then the count up to the last event: each answered once', () => {
  const r = new PrefetchedReads(10, 100, [ev(11), ev(12)], 10, 2, 12);
  assert.deepEqual(r.eventsAfter(10, 100)?.map((e) => e.event_id), [11, 12]);
  assert.equal(r.snapshotMark(), 10);
  assert.equal(r.countEvents(10, 12), 2);
  assert.equal(r.eventsAfter(10, 100), undefined, 'answered once only');
  assert.equal(r.snapshotMark(), undefined);
});

test('a full page is followed by another page read: the mark and count are not answered', () => {
  const r = new PrefetchedReads(0, 2, [ev(1), ev(2)], 0, 5, 5);
  assert.equal(r.eventsAfter(0, 2)?.length, 2);
  assert.equal(r.eventsAfter(2, 2), undefined);
  assert.equal(r.snapshotMark(), undefined);
  assert.equal(r.countEvents(0, 5), undefined);
});

test('another question, or another order, drops what is left', () => {
  const other = new PrefetchedReads(10, 100, [], 10, 0, 10);
  assert.equal(other.eventsAfter(9, 100), undefined, 'another position');
  assert.equal(other.snapshotMark(), undefined);
  const order = new PrefetchedReads(10, 100, [], 10, 0, 10);
  assert.equal(order.snapshotMark(), undefined, 'the mark before the events');
  assert.equal(order.eventsAfter(10, 100), undefined);
  const range = new PrefetchedReads(10, 100, [ev(11)], 10, 1, 11);
  range.eventsAfter(10, 100);
  range.snapshotMark();
  assert.equal(range.countEvents(10, 12), undefined, 'another range: counted again');
});

test('a snapshot written between the statements: nothing is answered from it; a failed round trip fails', async () => {
  const moved = await prefetchLog(
    async () => [[{ cluster_id: 'c' }], [{ last_event_id: 10 }], [ev(11)], [{ last_event_id: 20 }], [{ n: 1, hi: 11 }]],
    100,
    false,
  );
  assert.equal(moved?.mark, 10);
  assert.equal(moved?.reads.eventsAfter(10, 100), undefined);
  await assert.rejects(prefetchLog(async () => Promise.reject(new Error('relation "stan_events" does not exist')), 100, false), /relation "stan_events" does not exist/);
  const empty = await prefetchLog(async () => [[], [], [], [], [{ n: 0, hi: null }]], 100, true);
  assert.equal(empty?.server, undefined);
  assert.deepEqual(empty?.reads.eventsAfter(0, 100), []);
  assert.equal(empty?.reads.snapshotMark(), 0);
  assert.equal(empty?.reads.countEvents(0, 0), 0);
});
