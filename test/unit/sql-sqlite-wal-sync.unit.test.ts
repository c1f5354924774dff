/**
 * The write thread's answers held until the WAL is flushed (src/store/sql/sqlite-wal-sync.ts,
 * DurableReplies): a committed transaction is answered only after a flush that started after
 * it completed, answers keep the order of the batches, and a failed flush answers every
 * transaction not yet on disk with the error. The flushes are driven by hand here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DurableReplies, type FlushStarter } from '../../src/store/sql/sqlite-wal-sync';

type Reply = string;

function harness(maxFlushes = 2): { q: DurableReplies<Reply>; sent: Reply[]; flushes: Array<(err: Error | null) => void>; broken: () => number } {
  const sent: Reply[] = [];
  const flushes: Array<(err: Error | null) => void> = [];
  let broken = 0;
  const flush: FlushStarter = (done) => flushes.push(done);
  const q = new DurableReplies<Reply>(
    (r) => sent.push(r),
    flush,
    (r, err) => `${r}:failed(${err.message})`,
    () => broken++,
    maxFlushes,
  );
  return { q, sent, flushes, broken: () => broken };
}

test('a committed transaction is answered only once a flush started after its commit completed', () => {
  const { q, sent, flushes } = harness();
  q.committed('a');
  assert.deepEqual(sent, [], 'not answered before its flush');
  assert.equal(flushes.length, 1, 'a flush starts at the commit');
  flushes[0](null);
  assert.deepEqual(sent, ['a']);
});

test('a transaction committed while a flush runs waits for the next flush, not that one', () => {
  const { q, sent, flushes } = harness(1);
  q.committed('a');
  q.committed('b');
  assert.equal(flushes.length, 1, 'one flush at a time with maxFlushes 1');
  flushes[0](null);
  assert.deepEqual(sent, ['a'], 'the first flush started before b was written');
  assert.equal(flushes.length, 2, 'the next flush starts for b');
  flushes[1](null);
  assert.deepEqual(sent, ['a', 'b']);
});

test('two flushes in flight: the later one completing first answers nothing until the earlier one completed', () => {
  // The kernel reports a write-back error to one fdatasync only: the later flush's success
  // says nothing about pages the earlier one may still fail to write (flush-failure.ts).
  const { q, sent, flushes } = harness(2);
  q.committed('a');
  q.committed('b');
  assert.equal(flushes.length, 2);
  flushes[1](null);
  assert.deepEqual(sent, [], 'the earlier flush has not completed');
  flushes[0](null);
  assert.deepEqual(sent, ['a', 'b'], 'both answered once, in order');
});

test('an answer that wrote nothing waits behind a committed one not yet flushed', () => {
  const { q, sent, flushes } = harness();
  q.committed('a');
  q.answer('b-refused');
  assert.deepEqual(sent, [], 'order of the batches kept');
  flushes[0](null);
  assert.deepEqual(sent, ['a', 'b-refused']);
  q.answer('c-refused');
  assert.deepEqual(sent, ['a', 'b-refused', 'c-refused'], 'nothing held before it: answered at once');
});

test('a failed flush answers every transaction not known on disk with the error; later ones wait for a later flush', () => {
  const { q, sent, flushes, broken } = harness(1);
  q.committed('a');
  flushes[0](null);
  q.committed('b');
  q.committed('c');
  q.answer('d-refused');
  flushes[1](new Error('EIO'));
  assert.deepEqual(sent, ['a', 'b:failed(EIO)', 'c:failed(EIO)', 'd-refused:failed(EIO)']);
  assert.equal(broken(), 1, 'the caller learns of the failure once');
  assert.equal(flushes.length, 2, 'nothing left to flush');
  q.committed('e');
  assert.deepEqual(sent.length, 4, 'e waits for its own flush');
  flushes[2](null);
  assert.deepEqual(sent.slice(4), ['e']);
});

test('a flush that started before a failed one and succeeds after it answers nothing twice', () => {
  const { q, sent, flushes } = harness(2);
  q.committed('a');
  q.committed('b');
  flushes[1](new Error('EIO'));
  flushes[0](null);
  assert.deepEqual(sent, ['a:failed(EIO)', 'b:failed(EIO)']);
});

test('without file_sync (no flush) a commit is answered at once', () => {
  const sent: Reply[] = [];
  const q = new DurableReplies<Reply>((r) => sent.push(r), undefined, (r) => r, () => undefined);
  q.committed('a');
  q.answer('b');
  assert.deepEqual(sent, ['a', 'b']);
});

test('whenIdle runs once every held answer is sent and no flush runs', () => {
  const { q, flushes } = harness(2);
  let idle = 0;
  q.committed('a');
  q.committed('b');
  q.whenIdle(() => idle++);
  flushes[1](null);
  assert.equal(idle, 0, 'a flush still runs');
  flushes[0](null);
  assert.equal(idle, 1);
  q.whenIdle(() => idle++);
  assert.equal(idle, 2, 'idle already: at once');
});

test('a failed flush fails the answers a later flush completing first would have released', () => {
  const { q, sent, flushes, broken } = harness(2);
  q.committed('a');
  q.committed('b');
  flushes[1](null);
  assert.deepEqual(sent, []);
  flushes[0](new Error('EIO'));
  assert.deepEqual(sent, ['a:failed(EIO)', 'b:failed(EIO)'], 'never acknowledged');
  assert.equal(broken(), 1, 'the caller learns of the failure (and stops writing)');
});

test('after a failed flush the answers held behind it fail too; the caller learns of it once', () => {
  const { q, sent, flushes, broken } = harness(1);
  q.committed('a');
  flushes[0](null);
  assert.deepEqual(sent, ['a']);
  q.answer('b-refused');
  q.committed('c');
  flushes[1](new Error('EIO'));
  assert.deepEqual(sent, ['a', 'b-refused', 'c:failed(EIO)']);
  assert.equal(broken(), 1);
});
