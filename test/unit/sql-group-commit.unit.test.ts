/**
 * The SQL store's group commit (src/store/sql/group-commit.ts) against a scripted host, no
 * database: records join one batch per event-loop turn; a transient failure rejects the
 * waiters, keeps the rows and retries them (marked `retry`); a schema error fails the store
 * (new commits refused at once, naming the fix) until a commit works again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit, type GroupCommitHost } from '../../src/store/sql/group-commit';
import type { MsgRow, Pending } from '../../src/store/sql/pending-batch';
import { StoreUnavailableError } from '../../src/store/contract';

function row(seq: number): MsgRow {
  const data = Buffer.from(`m${seq}`);
  return { channel_id: 1, seq, ts: seq, size: data.length, data, src: data, at: 0 };
}

/** A host whose writes fail with the scripted errors first, then succeed. */
function scriptedHost(failures: unknown[]): GroupCommitHost & { written: Array<{ seqs: number[]; retry: boolean }>; committedSeqs: number[]; errors: string[] } {
  const written: Array<{ seqs: number[]; retry: boolean }> = [];
  const committedSeqs: number[] = [];
  const errors: string[] = [];
  return {
    dialect: 'postgres',
    written,
    committedSeqs,
    errors,
    async write(part: Pending) {
      written.push({ seqs: part.msgs.map((m) => m.seq), retry: part.retry });
      const err = failures.shift();
      if (err !== undefined) throw err;
    },
    committed: (part) => committedSeqs.push(...part.msgs.map((m) => m.seq)),
    refused: () => undefined,
    snapshotDue: () => false,
    writeSnapshot: async () => undefined,
    onCommit: () => undefined,
    onError: (err) => errors.push(err.message),
  };
}

const OPTS = { depth: 1, maxBatchRows: 0, ioSleepMicros: 0 };

test('given rows recorded in one turn, when committed, then one batch holds them all and every waiter resolves', async () => {
  const host = scriptedHost([]);
  const g = new GroupCommit(host, OPTS);
  g.pending.msgs.push(row(1), row(2));
  const a = g.commit();
  g.pending.msgs.push(row(3));
  const b = g.commit();
  await Promise.all([a, b]);
  assert.deepEqual(host.written, [{ seqs: [1, 2, 3], retry: false }]);
  assert.deepEqual(host.committedSeqs, [1, 2, 3]);
  assert.equal(g.hasWork(), false);
});

test('given a transient failure, when committing, then the waiter is rejected, the rows are kept and written again as a retry', async () => {
  const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  const host = scriptedHost([down]);
  const g = new GroupCommit(host, OPTS);
  g.pending.msgs.push(row(1));
  await assert.rejects(g.commit(), /ECONNREFUSED/);
  assert.equal(g.lastError, 'connect ECONNREFUSED 127.0.0.1:5432');
  assert.equal(g.failure, undefined, 'a transient error does not fail the store');
  g.pending.msgs.push(row(2));
  await g.commit();
  assert.deepEqual(host.written, [
    { seqs: [1], retry: false },
    { seqs: [1, 2], retry: true },
  ]);
  assert.deepEqual(host.committedSeqs, [1, 2]);
  assert.equal(g.lastError, undefined);
});

test('given a schema error, when committing, then the store is failed: new commits are refused at once until one works', async () => {
  const dropped = Object.assign(new Error('relation "stan_messages" does not exist'), { code: '42P01' });
  const host = scriptedHost([dropped]);
  const g = new GroupCommit(host, OPTS);
  g.pending.msgs.push(row(1));
  await assert.rejects(g.commit(), (err: unknown) => err instanceof StoreUnavailableError && /stan_messages/.test(err.message));
  assert.match(g.failure ?? '', /database administrator must restore the stan_\* tables/);
  await assert.rejects(g.commit(), StoreUnavailableError);
  // The queued row is retried in the background (every 2 s) and the store recovers.
  g.beginClose();
  await g.commit();
  assert.equal(g.failure, undefined);
  assert.deepEqual(host.committedSeqs, [1]);
  g.markClosed();
  await assert.rejects(g.commit(), /store closed/);
});

// A lone message row with one waiter (a sync publisher's commit) is written without the
// flights' machinery (GroupCommit.writeLone): it must settle exactly as a flight would.

test('given a lone row the database refuses, when committing, then its publisher is told, nothing else is held up, and it is not retried', async () => {
  const refusedErr = Object.assign(new Error('new row violates check constraint'), { code: '23514' });
  const host = scriptedHost([refusedErr]);
  const refused: Array<{ seq: number; why: string }> = [];
  host.refused = (r, why) => refused.push({ seq: r.seq, why });
  const g = new GroupCommit(host, { ...OPTS, depth: 2 });
  g.pending.msgs.push(row(1));
  await g.commit();
  assert.equal(refused.length, 1);
  assert.equal(refused[0].seq, 1);
  assert.match(refused[0].why, /check constraint/);
  assert.deepEqual(host.committedSeqs, []);
  g.pending.msgs.push(row(2));
  await g.commit();
  assert.deepEqual(host.committedSeqs, [2]);
  assert.deepEqual(
    host.written.map((w) => w.seqs),
    [[1], [2]],
  );
});

test('given a commit asked while a lone row is being written, when both settle, then the second is written after the first, never beside it', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const order: number[][] = [];
  const host = scriptedHost([]);
  host.write = async (part: Pending) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    order.push(part.msgs.map((m) => m.seq));
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
  };
  const g = new GroupCommit(host, { ...OPTS, depth: 2 });
  g.pending.msgs.push(row(1));
  const first = g.commit();
  while (inFlight === 0) await new Promise((r) => setImmediate(r));
  g.pending.msgs.push(row(2), row(3));
  const second = g.commit();
  await Promise.all([first, second]);
  assert.deepEqual(order, [[1], [2, 3]]);
  assert.equal(maxInFlight, 1);
  assert.deepEqual(host.committedSeqs, [1, 2, 3]);
});

test('given a lone row whose commit answer was lost, when the write is retried, then it is written as a retry (rows already stored are skipped)', async () => {
  const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
  const host = scriptedHost([lost]);
  const g = new GroupCommit(host, OPTS);
  g.pending.msgs.push(row(1));
  await assert.rejects(g.commit(), /Connection terminated/);
  await g.commit();
  assert.deepEqual(host.written, [
    { seqs: [1], retry: false },
    { seqs: [1], retry: true },
  ]);
  assert.deepEqual(host.committedSeqs, [1]);
});
