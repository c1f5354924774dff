/**
 * Isolation of refused rows in a group-commit batch (src/store/sql/batch-splitter.ts with
 * the SQL store's batches, src/store/sql/pending-batch.ts). `write` here is the rule a
 * database would apply (all or nothing per part); the real databases are in
 * test/int/sql-store-refusals.int.test.ts and test/e2e/durability-poison-batch.e2e.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeSplitting } from '../../src/store/sql/batch-splitter';
import { isLoneMessage, newPending, requeue, splitPending, takeBatch, type Pending } from '../../src/store/sql/pending-batch';
import type { CommitErrorKind } from '../../src/store/sql/commit-errors';
import { EventKind } from '../../src/store/events/events';

class DbError extends Error {
  constructor(readonly kind: CommitErrorKind) {
    super(kind);
  }
}

function batch(seqs: number[], events = 1): Pending {
  const b = newPending();
  for (const seq of seqs) {
    b.msgs.push({ channel_id: 1, seq, ts: seq, size: 10, data: Buffer.from(`m${seq}`), src: Buffer.alloc(0), at: 0 });
    b.msgBytes += 10;
  }
  for (let i = 0; i < events; i++) b.events.push({ kind: EventKind.ClientClosed, clientID: `c${i}` });
  return b;
}

/** A database that refuses the parts holding a poison seq, committing the others (in order). */
function database(poison: Set<number>, opts: { refuseEvents?: boolean; failOnWrite?: number; failKind?: CommitErrorKind } = {}) {
  const committed: number[] = [];
  let writes = 0;
  let eventsCommitted = 0;
  return {
    committed,
    get writes() {
      return writes;
    },
    get eventsCommitted() {
      return eventsCommitted;
    },
    ops: {
      write: async (p: Pending): Promise<void> => {
        writes++;
        if (opts.failOnWrite === writes) throw new DbError(opts.failKind ?? 'transient');
        if (p.msgs.some((m) => poison.has(m.seq)) || (opts.refuseEvents === true && p.events.length > 0)) throw new DbError('refused');
        committed.push(...p.msgs.map((m) => m.seq));
        eventsCommitted += p.events.length;
      },
      classify: (err: unknown): CommitErrorKind => (err instanceof DbError ? err.kind : 'transient'),
      split: splitPending,
      refusable: isLoneMessage,
    },
  };
}

const seqs = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('a batch without refusals is written whole, once', async () => {
  const db = database(new Set());
  const r = await writeSplitting(batch(seqs(100)), db.ops);
  assert.equal(db.writes, 1);
  assert.equal(r.written.length, 1);
  assert.deepEqual(r.refused, []);
  assert.equal(r.stopped, undefined);
});

test('refused rows are isolated, everything else is written in order with the events', async () => {
  const poison = new Set([1, 37, 38, 100]);
  const db = database(poison);
  const r = await writeSplitting(batch(seqs(100), 3), db.ops);
  assert.equal(r.stopped, undefined);
  assert.deepEqual(r.refused.map((x) => x.part.msgs[0].seq), [1, 37, 38, 100]);
  assert.deepEqual(db.committed, seqs(100).filter((s) => !poison.has(s)));
  assert.equal(db.eventsCommitted, 3);
  // Bisection: a few writes per refused row, not one per row.
  assert.ok(db.writes < 60, `${db.writes} writes`);
  // Halves are written as retries (rows already stored are skipped).
  assert.ok(r.written.every((p) => p.retry));
});

test('a lone message refused with its events: the events are written, the message refused', async () => {
  const db = database(new Set([5]));
  const r = await writeSplitting(batch([5], 2), db.ops);
  assert.deepEqual(r.refused.map((x) => x.part.msgs[0].seq), [5]);
  assert.equal(db.eventsCommitted, 2);
  assert.equal(r.stopped, undefined);
});

test('refused events are never dropped: writing stops, the unwritten parts come back in order', async () => {
  const db = database(new Set(), { refuseEvents: true });
  const r = await writeSplitting(batch(seqs(4), 1), db.ops);
  assert.equal(r.stopped?.kind, 'unrefusable');
  assert.deepEqual(r.refused, []);
  // Only what came with the events is held back: the rest was written.
  const unwritten = r.stopped?.unwritten ?? [];
  assert.deepEqual(unwritten.flatMap((p) => p.msgs.map((m) => m.seq)), [1, 2, 3, 4].filter((s) => !db.committed.includes(s)));
  assert.equal(unwritten[0].events.length, 1);
  // Requeued in order in front of what came meanwhile.
  const next = batch([5], 0);
  for (let i = unwritten.length - 1; i >= 0; i--) requeue(unwritten[i], next);
  assert.deepEqual(next.msgs.map((m) => m.seq), [...unwritten.flatMap((p) => p.msgs.map((m) => m.seq)), 5]);
  assert.equal(next.events.length, 1);
  assert.equal(next.retry, true);
});

test('a transient or schema error while isolating stops and hands back the rest, keeping what was written', async () => {
  for (const failKind of ['transient', 'schema'] as const) {
    const db = database(new Set([2]), { failOnWrite: 3, failKind });
    const r = await writeSplitting(batch(seqs(8), 1), db.ops);
    assert.equal(r.stopped?.kind, failKind);
    const handedBack = (r.stopped?.unwritten ?? []).flatMap((p) => p.msgs.map((m) => m.seq));
    // Every row is written, refused or handed back: exactly once.
    const all = [...db.committed, ...r.refused.map((x) => x.part.msgs[0].seq), ...handedBack].sort((a, b) => a - b);
    assert.deepEqual(all, seqs(8));
  }
});

test('halves holding message rows only are marked isolating (written without the owed retention deletes)', () => {
  const [a, b] = splitPending(batch([1, 2, 3], 0)) ?? [];
  assert.equal(a?.isolating, true);
  assert.equal(b?.isolating, true);
  const [withEvents, rest] = splitPending(batch([1, 2, 3], 1)) ?? [];
  assert.equal(withEvents?.isolating, undefined);
  assert.equal(withEvents?.events.length, 1);
  assert.equal(rest?.isolating, true);
  assert.equal(splitPending(batch([1], 0)), undefined);
});

test('io_batch_size: the head carries the events, the rest and the waiters stay pending', () => {
  const all = batch(seqs(10), 2);
  all.waiters.push({ resolve: () => undefined, reject: () => undefined });
  const { batch: head, rest } = takeBatch(all, 4);
  assert.deepEqual(head.msgs.map((m) => m.seq), [1, 2, 3, 4]);
  assert.equal(head.events.length, 2);
  assert.equal(head.msgBytes, 40);
  assert.deepEqual(rest.msgs.map((m) => m.seq), [5, 6, 7, 8, 9, 10]);
  assert.equal(rest.msgBytes, 60);
  assert.equal(rest.events.length, 0);
  assert.equal(rest.waiters.length, 1);
  assert.equal(takeBatch(rest, 0).batch, rest);
});
