/**
 * max_age of recovered (cold) messages on a real SQLite database (the FILE store's SqlStore):
 * what the retention tick asks the database. Without an index on `ts` (migration 0004) the
 * expired prefix is found by a binary search on seq (ts-search.ts), ~log2(rows) queries; a
 * tick where nothing can expire must not pay it (the timer ticks every second for every
 * max_age channel that still has recovered messages). The statements are counted by a Kysely
 * plugin on the store's reader (the adapter handed to SqlStore), the expiry driven tick by
 * tick as the store's RetentionTimer does, with an explicit cutoff.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { SqlMsgStore } from '../../src/store/sql/message-store';
import type { DialectAdapter } from '../../src/store/sql/dialect';
import { defaultStoreLimits } from '../../src/config/options';
import { serverInfo } from '../helpers/store';
import { refusePoison } from '../helpers/poison-trigger';

const T0 = 1_700_000_000_000_000_000;
const tsOf = (seq: number): number => T0 + seq * 1e9;

/** Counts the statements run through the Kysely it is plugged into, and those answered. */
class StatementCounter implements KyselyPlugin {
  started = 0;
  answered = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.started++;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    this.answered++;
    return Promise.resolve(args.result);
  }
}

/** The adapter with its reader (`db`) counted; everything else is the adapter's own. */
function counted(a: DialectAdapter, counter: StatementCounter): DialectAdapter {
  let db: DialectAdapter['db'] | undefined;
  return new Proxy(a, {
    get: (target, key) => {
      if (key === 'db') return (db ??= target.db.withPlugin(counter));
      return Reflect.get(target, key) as unknown;
    },
  });
}

async function open(dir: string, counter?: StatementCounter, maxMsgs = 0): Promise<SqlStore> {
  const a = await openSqlite({ dir, sync: false });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  // max_age 0: no retention timer of the store's own; the test ticks.
  const limits = { ...defaultStoreLimits(), maxMsgs };
  return new SqlStore(counter === undefined ? a : counted(a, counter), { type: 'FILE', clusterID: 'c1', limits, maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
}

/** One retention tick at `cutoffNs`: the statements it ran, once every one is answered. */
async function tickOnce(msgs: SqlMsgStore, counter: StatementCounter, cutoffNs: number): Promise<number> {
  const before = counter.started;
  msgs.expireOlderThan(cutoffNs);
  // SQLite answers in process: the tick's chain of queries is settled once no statement
  // is unanswered after the pending callbacks ran.
  do await new Promise((r) => setImmediate(r));
  while (counter.started !== counter.answered);
  return counter.started - before;
}

test('max_age of recovered messages: a retention tick where nothing can expire runs at most one statement, the next ones none; expiry still happens when due, also after a purge', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-coldage-'));
  const s1 = await open(dir);
  await s1.recover();
  s1.init(serverInfo('c1'));
  const ch1 = s1.createChannel('foo');
  for (let seq = 1; seq <= 40; seq++) ch1.msgs.store({ seq, timestamp: tsOf(seq), subject: 'foo', reply: '', data: Buffer.from(`m${seq}`) });
  await s1.commit();
  await s1.close();

  const counter = new StatementCounter();
  const s2 = await open(dir, counter);
  const rec = await s2.recover();
  const msgs = rec?.channels.find((c) => c.channel.name === 'foo')?.channel.msgs;
  assert.ok(msgs instanceof SqlMsgStore);
  // Newer messages beside the recovered ones (hot, in memory): the cold rows are 1..40.
  for (const seq of [41, 42]) msgs.store({ seq, timestamp: tsOf(seq), subject: 'foo', reply: '', data: Buffer.from(`m${seq}`) });
  await s2.commit();

  const tick = (cutoffNs: number): Promise<number> => tickOnce(msgs, counter, cutoffNs);
  const ticks = async (cutoffNs: number, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(await tick(cutoffNs));
    return out;
  };

  // Nothing expired yet: the first recovered row is read once, then known.
  assert.deepEqual(await ticks(tsOf(1) - 1e9, 5), [1, 0, 0, 0, 0]);
  // Just below message 1's timestamp (a double this large moves in steps of 256 ns).
  assert.deepEqual(await ticks(tsOf(1) - 256, 3), [0, 0, 0]);
  assert.equal(msgs.firstSeq, 1);

  // Due: 1..20 expire (a message exactly max_age old expires).
  await tick(tsOf(20));
  assert.deepEqual([msgs.firstSeq, msgs.msgCount], [21, 22]);
  await s2.commit();
  // The first row kept (21) was read by the search: nothing more to ask until it is due.
  assert.deepEqual(await ticks(tsOf(20) + 5e8, 3), [0, 0, 0]);

  // An admin purge moves the first sequence past rows the store has not read (21..25).
  assert.equal(await msgs.purgeBefore(26), 5);
  await s2.commit();
  // 21's timestamp is due but 26's is not: one statement reads 26, then none.
  assert.deepEqual(await ticks(tsOf(22), 3), [1, 0, 0]);
  assert.equal(msgs.firstSeq, 26);
  await tick(tsOf(30));
  assert.deepEqual([msgs.firstSeq, msgs.msgCount], [31, 12]);
  assert.equal(await msgs.firstSeqAtOrAfter(0), 31);
  await s2.commit();
  await s2.close();

  // And the expiry is in the database: a restart recovers 31..42.
  const s3 = await open(dir);
  const again = (await s3.recover())?.channels.find((c) => c.channel.name === 'foo')?.channel.msgs;
  assert.deepEqual([again?.firstSeq, again?.lastSeq, again?.msgCount], [31, 42, 12]);
  await s3.close();
});

test('max_age after a restart whose recovered messages end with a refused one (no row): one tick expires them and the newer messages due, the next ticks ask nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-coldage-gap-'));
  const s1 = await open(dir, undefined, 5);
  await s1.recover();
  s1.init(serverInfo('c1'));
  await refusePoison(s1.adapter.knex, 'sqlite');
  const ch1 = s1.createChannel('foo');
  // Limits keep 6..10; the database refuses 10, the last one a truncation recorded.
  for (let seq = 1; seq <= 10; seq++) ch1.msgs.store({ seq, timestamp: tsOf(seq), subject: 'foo', reply: '', data: Buffer.from(seq === 10 ? 'poison' : `m${seq}`) });
  await s1.commit();
  await s1.close();

  const counter = new StatementCounter();
  const s2 = await open(dir, counter, 5);
  const msgs = (await s2.recover())?.channels.find((c) => c.channel.name === 'foo')?.channel.msgs;
  assert.ok(msgs instanceof SqlMsgStore);
  assert.deepEqual([msgs.firstSeq, msgs.lastSeq, msgs.msgCount], [6, 10, 5]);
  for (const seq of [11, 12]) msgs.store({ seq, timestamp: tsOf(seq), subject: 'foo', reply: '', data: Buffer.from(`m${seq}`) });
  await s2.commit();
  // Everything due. Before: 6..9 expired, then the first sequence stayed on 10 (no row) and
  // every tick asked the database again for nothing; 11 and 12 never expired.
  await tickOnce(msgs, counter, tsOf(13));
  assert.deepEqual([msgs.firstSeq, msgs.lastSeq, msgs.msgCount, msgs.byteCount], [13, 12, 0, 0], 'one tick: the cold messages and the new ones due with them');
  assert.deepEqual([await tickOnce(msgs, counter, tsOf(13)), await tickOnce(msgs, counter, tsOf(13))], [0, 0]);
  await s2.commit();
  await s2.close();
});
