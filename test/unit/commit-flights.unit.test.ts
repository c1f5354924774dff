/**
 * CommitFlights (src/store/sql/commit-flights.ts) without a database: a write stands for a
 * transaction (ready → rows → mayCommit → "COMMIT"). A later transaction never commits before
 * an earlier one, and never at all when the earlier one failed; results come out in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommitGate } from '../../src/store/sql/batch-writer';
import { CommitFlights, EarlierCommitFailedError } from '../../src/store/sql/commit-flights';

interface Tx {
  name: string;
  /** Settles the transaction's own work (its statements and COMMIT): reject to fail it. */
  finish: (err?: Error) => void;
}

function harness(): { flights: CommitFlights<string>; committed: string[]; txs: Map<string, Tx> } {
  const committed: string[] = [];
  const txs = new Map<string, Tx>();
  const flights = new CommitFlights<string>(2, {
    write: async (part: string, gate?: CommitGate) => {
      gate?.ready();
      await new Promise<void>((resolve, reject) => txs.set(part, { name: part, finish: (err) => (err ? reject(err) : resolve()) }));
      await gate?.mayCommit();
      committed.push(part);
    },
    classify: () => 'transient',
    split: () => undefined,
    refusable: () => false,
  });
  return { flights, committed, txs };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('the second transaction commits only after the first, results in order', async () => {
  const { flights, committed, txs } = harness();
  flights.launch('a');
  await tick();
  assert.equal(flights.canLaunch(), true, 'a has written its events: b may start');
  flights.launch('b');
  await tick();
  assert.equal(flights.canLaunch(), false, 'two in flight: full');
  txs.get('b')?.finish();
  await tick();
  assert.deepEqual(committed, [], 'b waits for a');
  txs.get('a')?.finish();
  const first = await flights.next(new Promise(() => undefined));
  assert.equal(first?.flight.batch, 'a');
  const second = await flights.next(new Promise(() => undefined));
  assert.equal(second?.flight.batch, 'b');
  assert.equal(second?.result.stopped, undefined);
  assert.deepEqual(committed, ['a', 'b']);
});

test('a failed first transaction rolls the second back: nothing of it commits', async () => {
  const { flights, committed, txs } = harness();
  flights.launch('a');
  await tick();
  flights.launch('b');
  await tick();
  txs.get('b')?.finish();
  txs.get('a')?.finish(new Error('connection lost'));
  const head = await flights.next(new Promise(() => undefined));
  assert.equal(head?.flight.batch, 'a');
  assert.match(String(head?.result.stopped?.error), /connection lost/);
  assert.equal(head?.flight.rolledBack(), false);
  assert.equal(flights.canLaunch(), false, 'no new transaction while a failed one is in the pipeline');
  const rest = await flights.drain();
  assert.deepEqual(
    rest.map((f) => f.batch),
    ['b'],
  );
  assert.equal(rest[0].rolledBack(), true);
  assert.ok((await rest[0].result).stopped?.error instanceof EarlierCommitFailedError);
  assert.deepEqual(committed, []);
  assert.equal(flights.size, 0);
  assert.equal(flights.canLaunch(), true);
});

test('depth 1: one transaction at a time, no gate', async () => {
  const seen: Array<CommitGate | undefined> = [];
  const flights = new CommitFlights<string>(1, {
    write: (_part, gate) => {
      seen.push(gate);
      return Promise.resolve();
    },
    classify: () => 'transient',
    split: () => undefined,
    refusable: () => false,
  });
  flights.launch('a');
  assert.equal(flights.canLaunch(), false);
  const r = await flights.next(new Promise(() => undefined));
  assert.equal(r?.flight.batch, 'a');
  assert.deepEqual(seen, [undefined]);
});
