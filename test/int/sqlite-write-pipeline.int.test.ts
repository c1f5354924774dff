/**
 * Batches handed to the FILE store's write thread while it still commits the one before
 * (src/store/sql/sqlite-writer.ts, sqlite-write-worker.ts): they commit in the order handed
 * over (event IDs follow it), a chained batch never commits when the batch before it did not
 * (it answers 'earlier-failed' and stores nothing), an unchained batch after such a failure is
 * written, and a chained batch whose thread is gone is not written. A cold page read handed
 * over between two chained batches is answered on its own and is no link of the chain: the
 * batch after it still commits only when the batch before the read did. With file_sync a
 * batch is answered 'ok' only once its WAL was flushed (sqlite-wal-sync.ts): a flush that
 * fails answers it with the error, and from then on nothing more is written, chained or not,
 * on the thread or by the thread object's next worker (flush-failure.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLUSH_FAILED_CODE } from '../../src/store/sql/flush-failure';
import * as fs from 'node:fs';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SQLITE_FILE } from '../../src/store/sql/open';
import type { SqliteWriteThread } from '../../src/store/sql/sqlite-writer';
import { packSqliteBatch, type SqliteBatchPlan } from '../../src/store/sql/sqlite-batch';
import { EventKind } from '../../src/store/events/events';
import type { MsgRow } from '../../src/store/sql/pending-batch';
import { spawnedSqliteWriters } from '../helpers/sqlite-writer';
import { openThreadStore } from '../helpers/sqlite-thread-store';
import { unpackPage } from '../../src/store/sql/page-pack';

const openThread = (): ReturnType<typeof openThreadStore> => openThreadStore('stan-sqlite-pipe-');

function row(channel: number, seq: number): MsgRow {
  const data = Buffer.from(`c${channel}m${seq}`);
  return { channel_id: channel, seq, ts: 1_700_000_000_000 + seq, size: data.length, data, src: data, at: 0 };
}

/** One event (ChannelCreated of `channel`) and message rows `seqs` of that channel. */
function plan(channel: number, seqs: number[]): SqliteBatchPlan {
  return packSqliteBatch(
    [{ kind: EventKind.ChannelCreated, channelID: channel, name: `ch${channel}` }],
    seqs.map((s) => row(channel, s)),
    { dropChannels: [], skipExisting: false, encrypting: false },
  );
}

function read(dir: string): { events: number[]; msgs: string[] } {
  const db = new BetterSqlite3(path.join(dir, SQLITE_FILE), { readonly: true });
  try {
    const events = (db.prepare('select channel_id from stan_events order by event_id').all() as Array<{ channel_id: number }>).map((r) => Number(r.channel_id));
    const msgs = (db.prepare('select channel_id, seq from stan_messages order by channel_id, seq').all() as Array<{ channel_id: number; seq: number }>).map((r) => `${r.channel_id}:${r.seq}`);
    return { events, msgs };
  } finally {
    db.close();
  }
}

test('batches handed over back to back, each chained to the one before, all commit in the order handed over', async () => {
  const { dir, a, thread } = await openThread();
  const results = Array.from({ length: 30 }, (_, i) => thread.write(plan(i + 1, [1, 2, 3]), i > 0));
  assert.deepEqual(await Promise.all(results), new Array<string>(30).fill('ok'));
  const got = read(dir);
  assert.deepEqual(got.events, Array.from({ length: 30 }, (_, i) => i + 1), 'event IDs follow the order handed over');
  assert.equal(got.msgs.length, 90);
  await a.close();
});

test('a batch chained to one that failed is not written; an unchained one after it is', async () => {
  const { dir, a, thread } = await openThread();
  assert.equal(await thread.write(plan(1, [1, 2])), 'ok');
  // Row 1:2 again: the primary key refuses it, so this batch fails.
  const failing = thread.write(plan(1, [2, 3]));
  const chained = thread.write(plan(2, [1]), true);
  const chainedAgain = thread.write(plan(3, [1]), true);
  await assert.rejects(failing, /UNIQUE|constraint/i);
  assert.equal(await chained, 'earlier-failed');
  assert.equal(await chainedAgain, 'earlier-failed');
  assert.equal(await thread.write(plan(4, [1])), 'ok');
  const got = read(dir);
  assert.deepEqual(got.events, [1, 4], 'nothing of the failed batch or of the batches chained to it');
  assert.deepEqual(got.msgs, ['1:1', '1:2', '4:1']);
  await a.close();
});

test('a batch chained to one held by a thread that died is not written', async () => {
  const { dir, a, thread } = await openThread();
  assert.equal(await thread.write(plan(1, [1])), 'ok');
  await spawnedSqliteWriters[spawnedSqliteWriters.length - 1].terminate();
  assert.equal(await thread.write(plan(2, [1]), true), 'earlier-failed');
  // Unchained: a new thread is started and writes it.
  assert.equal(await thread.write(plan(3, [1])), 'ok');
  assert.deepEqual(read(dir).events, [1, 3]);
  await a.close();
});

test('file_sync: a batch whose WAL cannot be flushed is never answered ok, and nothing is written after it', async () => {
  const { dir, a, thread } = await openThread();
  assert.equal(await thread.write(plan(1, [1])), 'ok');
  const wal = path.join(dir, `${SQLITE_FILE}-wal`);
  // The flush finds no WAL under its name (SQLite still writes to the file it holds open).
  fs.renameSync(wal, `${wal}.moved`);
  const failed = (err: unknown): boolean => (err as { code?: string }).code === FLUSH_FAILED_CODE && /ENOENT/.test(String(err)) && /restart the server/.test(String(err));
  await assert.rejects(thread.write(plan(2, [1])), failed);
  fs.renameSync(`${wal}.moved`, wal);
  // A later flush would succeed now, yet proves nothing about the failed one's pages.
  await assert.rejects(thread.write(plan(3, [1]), true), failed, 'chained to the batch whose flush failed');
  await assert.rejects(thread.write(plan(4, [1])), failed, 'an unchained batch after the failure');
  assert.ok(thread.flushFailed !== undefined);
  assert.ok(!read(dir).events.includes(3) && !read(dir).events.includes(4), 'nothing written after the failure');
  await a.close();
});

test('file_sync: a stream of page reads does not hold a commit\'s answer until the reads stop', async () => {
  const { a, thread } = await openThread();
  // Pages of 2,048 rows of 200 bytes: each read keeps the thread busy long enough that its
  // queue never runs empty while six readers hand over their next read.
  const big = packSqliteBatch(
    [{ kind: EventKind.ChannelCreated, channelID: 1, name: 'ch1' }],
    Array.from({ length: 2048 }, (_, i) => {
      const data = Buffer.alloc(200, i);
      return { channel_id: 1, seq: i + 1, ts: 1_700_000_000_000 + i, size: data.length, data, src: data, at: 0 };
    }),
    { dropChannels: [], skipExisting: false, encrypting: false },
  );
  assert.equal(await thread.write(big), 'ok');
  // Twelve readers that hand over the next read as soon as one is answered (subscribers
  // catching up), until the commit below is answered or a cap is reached.
  let answered = false;
  let reads = 0;
  const CAP = 3000;
  const reader = async (): Promise<void> => {
    while (!answered && reads < CAP) {
      reads++;
      await thread.readPage({ channelID: 1, from: 1, to: 2048 });
    }
  };
  const readers = Array.from({ length: 12 }, () => reader());
  // Let the readers get going, then commit while they keep the thread's queue busy.
  while (reads < 60) await new Promise((r) => setImmediate(r));
  assert.equal(await thread.write(plan(2, [1])), 'ok');
  answered = true;
  const readsAtAnswer = reads;
  await Promise.all(readers);
  // Before the fix the answer waited for its flush, whose completion never ran while reads
  // kept arriving: it came only when the thread's queue happened to run empty (after 672,
  // 1,425 and 2,359 reads in three runs that checked this test). Now it comes after the
  // flush (73 reads in each of three runs, 60 of them before the commit).
  assert.ok(readsAtAnswer < 300, `the commit was answered while reads were still arriving (after ${readsAtAnswer} reads)`);
  await a.close();
});

/** The sequences of a page read on the thread (null: no rows). */
async function pageSeqs(thread: SqliteWriteThread, channelID: number): Promise<number[]> {
  const page = await thread.readPage({ channelID, from: 1, to: 100 });
  const seqs: number[] = [];
  if (page !== null) unpackPage(page, 'the test', (seq) => seqs.push(seq));
  return seqs;
}

test('a page read between two chained batches is answered on its own; the batch after it follows the batch before it', async () => {
  const { dir, a, thread } = await openThread();
  // All handed over before the thread answers any: batch, read, batch chained to the first.
  const first = thread.write(plan(1, [1, 2]));
  const page = pageSeqs(thread, 1);
  const chained = thread.write(plan(2, [1]), true);
  assert.equal(await first, 'ok');
  assert.deepEqual(await page, [1, 2], 'the read sees the batch handed over before it');
  assert.equal(await chained, 'ok', 'chained to the batch before the read, which committed');

  // Row 1:2 again: refused. The read between it and the chained batch must not hide that.
  const failing = thread.write(plan(1, [2, 3]));
  const page2 = pageSeqs(thread, 1);
  const chained2 = thread.write(plan(3, [1]), true);
  await assert.rejects(failing, /UNIQUE|constraint/i);
  assert.deepEqual(await page2, [1, 2], 'nothing of the refused batch');
  assert.equal(await chained2, 'earlier-failed', 'chained to the batch before the read, which failed');
  const got = read(dir);
  assert.deepEqual(got.events, [1, 2]);
  assert.deepEqual(got.msgs, ['1:1', '1:2', '2:1']);
  await a.close();
});
