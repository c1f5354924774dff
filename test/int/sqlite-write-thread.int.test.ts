/**
 * The FILE store committing through its write thread (src/store/sql/sqlite-writer.ts): a
 * commit resolves once the rows are committed (another connection reads them), what was
 * written survives a reopen, the FT fence runs inside the thread's transaction (a lost lease
 * refuses the write and nothing of it is stored), and a write thread that died is replaced.
 * Batches of a few rows are written on the main thread (sqlite-inline.ts): both paths run here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openLeaseKnex, openSqlite, SQLITE_FILE } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { Lease, LeaseLostError } from '../../src/ft/lease';
import { serverInfo } from '../helpers/store';
import { setCountingFence } from '../helpers/fence';
import { spawnedSqliteWriters, tsxSqliteWriter } from '../helpers/sqlite-writer';
import { EventKind } from '../../src/store/events/events';
import { SqliteWriteThread } from '../../src/store/sql/sqlite-writer';
import { packSqliteBatch } from '../../src/store/sql/sqlite-batch';

async function open(dir: string): Promise<SqlStore> {
  const a = await openSqlite({ dir, sync: true, writer: tsxSqliteWriter });
  assert.ok(a.writeThread, 'the store commits through a write thread');
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  return new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sqlite-thread-'));
}

/** A new store, recovered (empty) and initialised, with one channel. */
async function fresh(): Promise<{ dir: string; s: SqlStore; ch: ReturnType<SqlStore['createChannel']> }> {
  const dir = tmp();
  const s = await open(dir);
  assert.equal(await s.recover(), null);
  s.init(serverInfo('c1'));
  return { dir, s, ch: s.createChannel('foo') };
}

function storedSeqs(dir: string): number[] {
  const db = new BetterSqlite3(path.join(dir, SQLITE_FILE), { readonly: true });
  try {
    return (db.prepare('select seq from stan_messages order by seq').all() as Array<{ seq: number }>).map((r) => Number(r.seq));
  } finally {
    db.close();
  }
}

function store(ch: ReturnType<SqlStore['createChannel']>, from: number, to: number): void {
  for (let i = from; i <= to; i++) ch.msgs.store({ seq: i, timestamp: 1_700_000_000_000_000_000 + i, subject: 'foo', reply: '', data: Buffer.from(`m${i}`) });
}

test('a commit resolves once its rows are committed; they survive a reopen', async () => {
  const { dir, s: s1, ch } = await fresh();
  store(ch, 1, 1200);
  await s1.commit();
  // Read on another connection, before any close: committed, not only written.
  assert.equal(storedSeqs(dir).length, 1200);
  store(ch, 1201, 1210);
  await s1.commit();
  await s1.close();

  const s2 = await open(dir);
  const msgs = (await s2.recover())?.channels[0]?.channel.msgs;
  assert.equal(msgs?.lastSeq, 1210);
  assert.equal((await msgs?.lookup(1205))?.seq, 1205);
  await s2.close();
});

test('FT: the fence runs in the write thread transaction; a lost lease refuses the write and stores nothing of it', async () => {
  const { dir, s, ch } = await fresh();
  const { knex } = await openLeaseKnex({ kind: 'sqlite', dir }, 2000);
  const lease = new Lease(knex, 'sqlite', { group: 'g', owner: 'me', ttlMs: 60_000 });
  await lease.init();
  assert.ok((await lease.tryAcquire()) > 0);
  const fence = setCountingFence(s, lease);
  const before = (await lease.peek())?.writes ?? 0;
  const first = Array.from({ length: 20 }, (_, i) => i + 1);
  // 20 rows: on the thread; then 2 rows: inline (sqlite-inline.ts). Both run the fence statement.
  store(ch, 1, 20);
  await s.commit();
  assert.equal((await lease.peek())?.writes, before + 1, 'the fence UPDATE ran with the commit');
  store(ch, 21, 22);
  await s.commit();
  assert.equal((await lease.peek())?.writes, before + 2);
  assert.equal(fence.knexFence, 0, 'group commits use the statement, not the main-thread fence');
  assert.deepEqual(storedSeqs(dir), [...first, 21, 22]);

  // Another server takes the lease over (a new epoch).
  await knex('stan_lease').where('group_name', 'g').update({ owner: 'other', epoch: knex.raw('epoch + 1') });
  store(ch, 23, 50);
  await assert.rejects(s.commit(), LeaseLostError);
  assert.ok(fence.lost >= 1);
  assert.deepEqual(storedSeqs(dir), [...first, 21, 22], 'nothing of the fenced-out batch is stored');
  await knex.destroy();
  s.setFence(async () => undefined);
  await s.close();
});

test('a write thread that died is replaced by the next commit', async () => {
  const { dir, s, ch } = await fresh();
  // More rows than SQLITE_INLINE_MAX_ROWS: these batches go to the thread.
  store(ch, 1, 40);
  await s.commit();
  const w = spawnedSqliteWriters[spawnedSqliteWriters.length - 1];
  await w.terminate();
  store(ch, 41, 80);
  await s.commit();
  assert.notEqual(spawnedSqliteWriters[spawnedSqliteWriters.length - 1], w, 'a new thread was started');
  assert.deepEqual(storedSeqs(dir), Array.from({ length: 80 }, (_, i) => i + 1));
  await s.close();
});

/** Every message 1..n of the recovered channel as seq → [timestamp, bytes hex], read with lookup (cold pages). */
async function readAll(msgs: { lookup(seq: number): Promise<{ seq: number; timestamp: number; bytes: Uint8Array } | undefined> }, n: number): Promise<Map<number, [number, string]>> {
  const out = new Map<number, [number, string]>();
  for (let seq = 1; seq <= n; seq++) {
    const m = await msgs.lookup(seq);
    if (m !== undefined) out.set(m.seq, [m.timestamp, Buffer.from(m.bytes).toString('hex')]);
  }
  return out;
}

/** A store of 5,000 messages, closed: its directory and every message as read before the close. */
async function stored5000(): Promise<{ dir: string; want: Map<number, [number, string]> }> {
  const { dir, s, ch } = await fresh();
  store(ch, 1, 5000);
  await s.commit();
  const want = await readAll(ch.msgs, 5000);
  await s.close();
  return { dir, want };
}

test('cold messages after a reopen are read in pages on the thread, each exactly as stored', async () => {
  const { dir, want } = await stored5000();
  const s2 = await open(dir);
  const before = spawnedSqliteWriters.length;
  const msgs = (await s2.recover())?.channels[0]?.channel.msgs;
  assert.ok(msgs);
  const got = await readAll(msgs, 5000);
  assert.equal(spawnedSqliteWriters.length, before + 1, 'the page reads started the thread (nothing else was written)');
  assert.equal(got.size, 5000);
  assert.deepEqual(got, want);
  await s2.close();
});

test('a page read whose thread died is answered on the main thread', async () => {
  const { dir, want } = await stored5000();

  const s2 = await open(dir);
  const msgs = (await s2.recover())?.channels[0]?.channel.msgs;
  assert.ok(msgs);
  assert.deepEqual((await msgs.lookup(1))?.seq, 1);
  await spawnedSqliteWriters[spawnedSqliteWriters.length - 1].terminate();
  const got = await readAll(msgs, 5000);
  assert.deepEqual(got, want);
  await s2.close();
});

test('delivery progress nobody awaits is committed on the thread, not inline on the event loop', async () => {
  const { dir, s, ch } = await fresh();
  await s.commit(); // the channel's creation: awaited, a few rows, inline
  const before = spawnedSqliteWriters.length;
  ch.subs.addSeqPending(1, 1);
  ch.subs.ackSeqPending(1, 1);
  // Written by the background commit (no waiter): wait until its rows are there.
  const db = new BetterSqlite3(path.join(dir, SQLITE_FILE), { readonly: true });
  const progressRows = (): number => Number((db.prepare('select count(*) as n from stan_events where kind in (?, ?)').get(EventKind.MsgsSent, EventKind.MsgsAcked) as { n: number }).n);
  while (progressRows() < 2) await new Promise((r) => setTimeout(r, 20));
  db.close();
  assert.equal(spawnedSqliteWriters.length, before + 1, 'the background batch started the write thread');
  await s.close();
});

test('the write thread opens its connection with its first request, and one that cannot open fails that request only', async () => {
  // A thread whose database directory does not exist yet starts (no connection), fails the
  // first write with the driver's error, and writes once the database is there.
  const later = path.join(tmp(), 'later');
  const thread = new SqliteWriteThread({ file: path.join(later, SQLITE_FILE), sync: true }, tsxSqliteWriter);
  await thread.start();
  const plan = packSqliteBatch([{ kind: EventKind.ChannelCreated, channelID: 1, name: 'ch1' }], [], { dropChannels: [], skipExisting: false, encrypting: false });
  await assert.rejects(thread.write(plan), /Cannot open database because the directory does not exist/);
  fs.mkdirSync(later);
  const a = await openSqlite({ dir: later, sync: true });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir: later, autoMigrate: true });
  const again = packSqliteBatch([{ kind: EventKind.ChannelCreated, channelID: 1, name: 'ch1' }], [], { dropChannels: [], skipExisting: false, encrypting: false });
  assert.equal(await thread.write(again), 'ok');
  await thread.close();
  await a.close();
});
