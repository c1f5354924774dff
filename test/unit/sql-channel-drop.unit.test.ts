/**
 * Rows of a deleted channel in the SQL store's group commit (src/store/sql/pending-batch.ts
 * dropChannel, requeue), against a scripted host, no database: a batch runs its channel
 * DELETEs before its message rows, so no batch at or after the one carrying a channel's DELETE
 * may hold a row of that channel (it would stay in stan_messages for good). Rows pending when
 * the channel is deleted are never written; rows of a transaction in flight that fails, queued
 * again in front of the DELETE, are left out of the retry (the DELETE removes any that landed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit, type GroupCommitHost } from '../../src/store/sql/group-commit';
import { dropChannel, type MsgRow, type Pending } from '../../src/store/sql/pending-batch';
import type { CommitGate } from '../../src/store/sql/batch-writer';

function row(channel: number, seq: number): MsgRow {
  const data = Buffer.from(`c${channel}m${seq}`);
  return { channel_id: channel, seq, ts: seq, size: data.length, data, src: data, at: 0 };
}

interface Written {
  rows: string[];
  drops: number[];
  retry: boolean;
  bytesOk: boolean;
}

/**
 * A host that writes like BatchWriter as far as the gate goes (ready once its events are
 * written, commits after the transaction before it); `hold` makes the next first write wait
 * for `release` and then fail with its error.
 */
function gatedHost(): GroupCommitHost & { written: Written[]; hold(): (err: Error) => void } {
  const written: Written[] = [];
  let held: Promise<Error> | undefined;
  return {
    dialect: 'postgres',
    written,
    hold() {
      let release: (err: Error) => void = () => undefined;
      held = new Promise<Error>((r) => (release = r));
      return release;
    },
    async write(part: Pending, gate?: CommitGate) {
      written.push({
        rows: part.msgs.map((m) => `${m.channel_id}:${m.seq}`),
        drops: [...part.dropChannels],
        retry: part.retry,
        bytesOk: part.msgBytes === part.msgs.reduce((n, m) => n + m.size, 0),
      });
      const wait = held;
      held = undefined;
      gate?.ready();
      if (wait !== undefined) throw await wait;
      await gate?.mayCommit();
    },
    committed: () => undefined,
    refused: () => undefined,
    snapshotDue: () => false,
    writeSnapshot: async () => undefined,
    onCommit: () => undefined,
    onError: () => undefined,
  };
}

/** As SqlStore.recordMessage. */
function record(g: GroupCommit, ...rows: MsgRow[]): void {
  for (const r of rows) {
    g.pending.msgs.push(r);
    g.pending.msgBytes += r.size;
  }
}

const down = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** No part at or after the first one carrying `channel`'s DELETE holds a row of it. */
function assertNoRowAtOrAfterDrop(written: Written[], channel: number): void {
  const at = written.findIndex((w) => w.drops.includes(channel));
  assert.ok(at >= 0, 'the DELETE was written');
  for (const w of written.slice(at)) assert.deepEqual(w.rows.filter((r) => r.startsWith(`${channel}:`)), [], `a row of channel ${channel} written with or after its DELETE: ${JSON.stringify(written)}`);
  for (const w of written) assert.ok(w.bytesOk, 'msgBytes counts the rows the batch holds');
}

test('given rows pending on a channel, when it is deleted before the commit, then they are never written and the other channels\' rows are', async () => {
  const host = gatedHost();
  const g = new GroupCommit(host, { depth: 1, maxBatchRows: 0, ioSleepMicros: 0 });
  record(g, row(1, 1), row(2, 1), row(1, 2));
  dropChannel(g.pending, 1);
  record(g, row(2, 2));
  await g.commit();
  assert.deepEqual(host.written, [{ rows: ['2:1', '2:2'], drops: [1], retry: false, bytesOk: true }]);
});

test('given a transaction in flight holding a channel\'s rows, when the channel is deleted and that transaction fails, then the retry carries the DELETE and none of its rows', async () => {
  const host = gatedHost();
  const g = new GroupCommit(host, { depth: 1, maxBatchRows: 0, ioSleepMicros: 0 });
  record(g, row(1, 1), row(2, 1));
  const release = host.hold();
  const first = g.commit();
  await new Promise((r) => setImmediate(r));
  assert.equal(host.written.length, 1, 'the first batch is in flight');
  dropChannel(g.pending, 1);
  record(g, row(2, 2));
  const second = g.commit();
  release(down());
  await assert.rejects(first, /ECONNREFUSED/);
  await second;
  assert.deepEqual(host.written.slice(1), [{ rows: ['2:1', '2:2'], drops: [1], retry: true, bytesOk: true }]);
  assertNoRowAtOrAfterDrop(host.written, 1);
});

test('given two transactions in flight, the first with a channel\'s rows and the second with its DELETE, when the first fails, then both are queued again as one retry without those rows', async () => {
  const host = gatedHost();
  const g = new GroupCommit(host, { depth: 2, maxBatchRows: 0, ioSleepMicros: 0 });
  record(g, row(1, 1), row(1, 2), row(2, 1));
  const release = host.hold();
  const first = g.commit();
  await new Promise((r) => setImmediate(r));
  dropChannel(g.pending, 1);
  record(g, row(2, 2));
  const second = g.commit();
  // The second transaction is launched behind the first (its gate: ready), then waits for it.
  while (host.written.length < 2) await new Promise((r) => setImmediate(r));
  assert.deepEqual(host.written[1].drops, [1]);
  release(down());
  await assert.rejects(first, /ECONNREFUSED/);
  await second;
  assert.deepEqual(host.written.slice(2), [{ rows: ['2:1', '2:2'], drops: [1], retry: true, bytesOk: true }]);
  assertNoRowAtOrAfterDrop(host.written, 1);
});
