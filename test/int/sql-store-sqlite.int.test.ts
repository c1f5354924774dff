/**
 * The event-sourced store on SQLite (the FILE store): record, commit, reopen, recover.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqlite } from '../../src/store/sql/open';
import { checkSchema, prepareSchema } from '../../src/store/sql/schema-check';
import { migrate } from '../../src/store/sql/migrator';
import { MIGRATIONS } from '../../migrations';
import { SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { MsgProtoCodec } from '../../src/protocol/codec';
import { serverInfo, subState as sub } from '../helpers/store';

async function open(dir: string, clusterID = 'c1', limits = defaultStoreLimits()): Promise<SqlStore> {
  const a = await openSqlite({ dir, sync: true });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  return new SqlStore(a, { type: 'FILE', clusterID, limits, maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sqlite-'));
}

const info = serverInfo('c1');

test('messages, clients, durable subscriptions and pending acks survive a reopen', async () => {
  const dir = tmp();
  const s1 = await open(dir);
  assert.equal(await s1.recover(), null);
  s1.init(info);
  s1.addClient({ ID: 'me', HbInbox: '_INBOX.hb', ConnID: Buffer.from('conn'), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
  const ch = s1.createChannel('foo');
  for (let i = 1; i <= 10; i++) ch.msgs.store({ seq: i, timestamp: 1_700_000_000_000_000_000 + i, subject: 'foo', reply: '', data: Buffer.from(`m${i}`) });
  const st = sub('me', 'dur');
  ch.subs.createSub(st);
  for (let i = 1; i <= 5; i++) ch.subs.addSeqPending(st.ID, i);
  ch.subs.ackSeqPending(st.ID, 1);
  ch.subs.ackSeqPending(st.ID, 2);
  await s1.commit();
  await s1.close();

  const s2 = await open(dir);
  const rec = await s2.recover();
  assert.ok(rec);
  assert.equal(rec.info.ClusterID, 'c1');
  assert.deepEqual(rec.clients.map((c) => c.ID), ['me']);
  assert.equal(rec.channels.length, 1);
  const rc = rec.channels[0];
  assert.equal(rc.channel.name, 'foo');
  assert.equal(rc.channel.msgs.firstSeq, 1);
  assert.equal(rc.channel.msgs.lastSeq, 10);
  assert.equal(rc.channel.msgs.msgCount, 10);
  // Payloads are not loaded at start: only the position and size of rows.
  assert.equal(rc.channel.msgs.lookupCached(7), null);
  const m7 = await rc.channel.msgs.lookup(7);
  assert.ok(m7);
  // A cold read brings in the page around it: the next message is answered from memory.
  assert.equal(Buffer.from(MsgProtoCodec.decode(rc.channel.msgs.lookupCached(8)?.bytes ?? new Uint8Array()).data).toString(), 'm8');
  assert.equal(Buffer.from(MsgProtoCodec.decode(m7.bytes).data).toString(), 'm7');
  assert.equal(rc.subs.length, 1);
  assert.equal(rc.subs[0].state.durableName, 'dur');
  assert.equal(rc.subs[0].state.lastSent, 5);
  assert.deepEqual(rc.subs[0].pending, [3, 4, 5]);
  await s2.close();
});

test('a database of another cluster ID is refused with a clear error', async () => {
  const dir = tmp();
  const s1 = await open(dir, 'c1');
  await s1.recover();
  s1.init(info);
  await s1.commit();
  await s1.close();
  const s2 = await open(dir, 'other');
  await assert.rejects(s2.recover(), /belongs to the STAN cluster "c1", not "other"/);
  await s2.close();
});

test('max_msgs deletes the oldest rows; a snapshot compacts the events and recovery replays only the tail', async () => {
  const dir = tmp();
  const limits = { ...defaultStoreLimits(), maxMsgs: 5 };
  const s1 = await open(dir, 'c1', limits);
  await s1.recover();
  s1.init(info);
  const ch = s1.createChannel('foo');
  for (let i = 1; i <= 20; i++) ch.msgs.store({ seq: i, timestamp: 1_700_000_000_000_000_000 + i, subject: 'foo', reply: '', data: Buffer.from(`m${i}`) });
  await s1.commit();
  assert.equal(ch.msgs.firstSeq, 16);
  await s1.writeSnapshot();
  // Three events after the snapshot.
  s1.addClient({ ID: 'a', HbInbox: 'h', ConnID: Buffer.alloc(0), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
  s1.addClient({ ID: 'b', HbInbox: 'h', ConnID: Buffer.alloc(0), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
  s1.deleteClient('a');
  await s1.commit();
  // Close writes a final snapshot; reopen the file directly to count rows before that.
  const a = await openSqlite({ dir, sync: true });
  const rows = await a.knex('stan_messages').count({ n: '*' }).first();
  assert.equal(Number((rows as { n: number }).n), 5);
  const evs = await a.knex('stan_events').count({ n: '*' }).first();
  assert.equal(Number((evs as { n: number }).n), 3);
  await a.close();

  const s2 = await open(dir, 'c1', limits);
  const rec = await s2.recover();
  assert.ok(rec);
  assert.equal(s2.replayedEvents, 3);
  assert.deepEqual(rec.clients.map((c) => c.ID), ['b']);
  assert.equal(rec.channels[0].channel.msgs.firstSeq, 16);
  assert.equal(rec.channels[0].channel.msgs.msgCount, 5);
  await s2.close();
  await s1.close();
});

test('after a restart, max_age expires recovered (cold) messages by asking the database', async () => {
  const dir = tmp();
  const s1 = await open(dir);
  await s1.recover();
  s1.init(info);
  const ch = s1.createChannel('foo');
  const old = (Date.now() - 60_000) * 1e6;
  for (let i = 1; i <= 6; i++) ch.msgs.store({ seq: i, timestamp: old + i, subject: 'foo', reply: '', data: Buffer.from(`m${i}`) });
  await s1.commit();
  await s1.close();

  const s2 = await open(dir, 'c1', { ...defaultStoreLimits(), maxAge: 1000 });
  const rec = await s2.recover();
  assert.ok(rec);
  const msgs = rec.channels[0].channel.msgs;
  assert.equal(msgs.firstSeq, 1);
  // The retention timer runs every second; the cold query answers asynchronously.
  const deadline = Date.now() + 5000;
  while (msgs.msgCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(msgs.msgCount, 0);
  assert.equal(msgs.firstSeq, 7);
  assert.equal(msgs.byteCount, 0);
  await s2.close();
});

test('after a restart, max_msgs and max_bytes trim recovered (cold) messages first', async () => {
  const dir = tmp();
  const s1 = await open(dir);
  await s1.recover();
  s1.init(info);
  const ch = s1.createChannel('foo');
  for (let i = 1; i <= 10; i++) ch.msgs.store({ seq: i, timestamp: 1_700_000_000_000_000_000 + i, subject: 'foo', reply: '', data: Buffer.alloc(100, 1) });
  await s1.commit();
  const size = (await ch.msgs.lookup(1))!.bytes.length;
  await s1.close();

  const s2 = await open(dir, 'c1', { ...defaultStoreLimits(), maxMsgs: 8, maxBytes: 5 * size });
  const rec = await s2.recover();
  assert.ok(rec);
  const msgs = rec.channels[0].channel.msgs;
  msgs.store({ seq: 11, timestamp: 1_700_000_000_000_000_100, subject: 'foo', reply: '', data: Buffer.alloc(100, 2) });
  await s2.commit();
  // 11 stored, at most 8 by count and 5 by bytes: the 6 oldest (all cold) are gone.
  assert.equal(msgs.firstSeq, 7);
  assert.equal(msgs.msgCount, 5);
  assert.ok(msgs.byteCount <= 5 * size, `bytes ${msgs.byteCount}`);
  assert.equal(await msgs.lookup(6), undefined);
  assert.ok(await msgs.lookup(7));
  await s2.close();
});

test('the newest message timestamp of every channel is restored (new timestamps never go below it)', async () => {
  const dir = tmp();
  const s1 = await open(dir);
  await s1.recover();
  s1.init(info);
  // A timestamp "from the future": as if the server that wrote it had a clock ahead of ours.
  const ahead = Date.now() * 1e6 + 3600e9;
  const foo = s1.createChannel('foo');
  for (let i = 1; i <= 3; i++) foo.msgs.store({ seq: i, timestamp: ahead + i, subject: 'foo', reply: '', data: Buffer.from(`m${i}`) });
  const bar = s1.createChannel('bar');
  bar.msgs.store({ seq: 1, timestamp: 1_700_000_000_000_000_000, subject: 'bar', reply: '', data: Buffer.from('b') });
  s1.createChannel('empty');
  await s1.commit();
  await s1.close();

  const s2 = await open(dir);
  await s2.recover();
  assert.equal(s2.lookupChannel('foo')?.msgs.lastTimestamp, ahead + 3);
  assert.equal(s2.lookupChannel('bar')?.msgs.lastTimestamp, 1_700_000_000_000_000_000);
  assert.equal(s2.lookupChannel('empty')?.msgs.lastTimestamp, 0);
  // The server's channel state starts from it.
  const { Channel } = await import('../../src/stan/state');
  const fooStore = s2.lookupChannel('foo');
  assert.ok(fooStore);
  assert.equal(new Channel(fooStore).lastTimestamp, ahead + 3);
  await s2.close();
});

test('a FILE store created at schema 3 with messages migrates itself to 0004 at its next open: the index goes, rows, recovery and time searches stay', async () => {
  const dir = tmp();
  // What a release at schema 3 left: its migrations only, and messages written through it.
  const a = await openSqlite({ dir, sync: true });
  await migrate(a.knex, { migrations: MIGRATIONS.filter((m) => m.version <= 3) });
  assert.equal((await checkSchema(a.knex, { dialect: 'sqlite', dir })).version, 3);
  const s1 = new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
  assert.equal(await s1.recover(), null);
  s1.init(info);
  const ch = s1.createChannel('old');
  const ts = (seq: number): number => 1_765_065_600_000_000_000 + Math.ceil(seq / 3) * 1_000_000;
  for (let seq = 1; seq <= 30; seq++) ch.msgs.store({ seq, timestamp: ts(seq), subject: 'old', reply: '', data: Buffer.from(`m${seq}`) });
  await s1.commit();
  const indexes = async (st: SqlStore): Promise<string[]> =>
    ((await st.adapter.knex.raw("select name from sqlite_master where type = 'index' and tbl_name = 'stan_messages'")) as { name: string }[]).map((r) => r.name);
  assert.ok((await indexes(s1)).includes('stan_messages_channel_ts_idx'));
  await s1.close();

  const s2 = await open(dir);
  assert.equal((await checkSchema(s2.adapter.knex, { dialect: 'sqlite', dir })).version, 4);
  assert.deepEqual((await indexes(s2)).filter((n) => !n.startsWith('sqlite_autoindex')), [], 'only the primary key is left');
  const rc = (await s2.recover())?.channels.find((c) => c.channel.name === 'old');
  assert.ok(rc);
  const m = rc.channel.msgs;
  assert.deepEqual([m.firstSeq, m.lastSeq, m.msgCount], [1, 30, 30]);
  assert.equal((await m.lookup(17))?.seq, 17);
  // Three messages per timestamp: the first of each run, from the recovered rows.
  for (const seq of [1, 4, 16, 28]) assert.equal(await m.firstSeqAtOrAfter(ts(seq)), seq);
  assert.equal(await m.firstSeqAtOrAfter(ts(30) + 1_000_000), 31);
  assert.equal(await m.firstSeqAtOrAfter(ts(16) - 1_000_000), 16, "between two timestamps");
  await s2.close();
});
