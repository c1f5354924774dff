/**
 * A channel's counts (first, last, message count, bytes) are the same in the running server and
 * after a restart (FILE store, real SQLite): the count is the span first..last, a sequence
 * without a row (a refused message, a damaged record an import left out) included, and a
 * refusal's correction of counts a truncation recorded covers every refusal of the commit.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import type { SqlMsgStore } from '../../src/store/sql/message-store';
import { defaultStoreLimits } from '../../src/config/options';
import type { ChannelStore } from '../../src/store/contract';
import { serverInfo } from '../helpers/store';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

async function open(dir: string): Promise<SqlStore> {
  const a = await openSqlite({ dir, sync: true });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  return new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
}

const TS = 1_700_000_000_000_000_000;

function put(ch: ChannelStore, seq: number, ts: number, poison = false): void {
  ch.msgs.store({ seq, timestamp: ts, subject: 'foo', reply: '', data: Buffer.from(poison ? `poison${seq}` : `m${seq}`) });
}

/** A FILE store whose database refuses every message holding "poison" (a DBA's trigger). */
async function fresh(): Promise<{ dir: string; s: SqlStore }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-counts-'));
  dirs.push(dir);
  const s = await open(dir);
  await s.recover();
  s.init(serverInfo('c1'));
  await s.commit();
  await s.adapter.knex.raw(`CREATE TRIGGER no_poison BEFORE INSERT ON stan_messages WHEN instr(NEW.data, CAST('poison' AS BLOB)) > 0 BEGIN SELECT RAISE(ABORT, 'poison'); END`);
  return { dir, s };
}

const counts = (m: { firstSeq: number; lastSeq: number; msgCount: number; byteCount: number }): number[] => [m.firstSeq, m.lastSeq, m.msgCount, m.byteCount];

async function afterRestart(dir: string): Promise<number[]> {
  const s = await open(dir);
  const rec = await s.recover();
  const ch = rec?.channels.find((c) => c.channel === s.lookupChannel('foo'))?.channel;
  assert.ok(ch, 'the channel is recovered');
  const c = counts(ch.msgs);
  await s.close();
  return c;
}

test('two refusals in one commit, one below the last truncation and one above it: a restart gives the running counts', async () => {
  const { dir, s } = await fresh();
  const ch = s.createChannel('foo');
  put(ch, 1, TS + 1);
  put(ch, 2, TS + 2);
  for (let i = 3; i <= 6; i++) put(ch, i, TS + 1e12 + i, i === 4);
  // max_age on the messages in memory: 1 and 2 go, the truncation records counts through 6.
  assert.equal((ch.msgs as SqlMsgStore).expireOlderThan(TS + 1e11), true);
  put(ch, 7, TS + 1e12 + 7);
  put(ch, 8, TS + 1e12 + 8, true);
  await s.commit();
  const live = counts(ch.msgs);
  await s.close();
  assert.deepEqual(await afterRestart(dir), live);
});

test('a sequence without a row that is not a refusal (an import leaving out a damaged record): the running store and a restart count the span', async () => {
  const { dir, s } = await fresh();
  const ch = s.createChannel('foo');
  put(ch, 1, TS + 1);
  put(ch, 2, TS + 2);
  put(ch, 4, TS + 4);
  await s.commit();
  const live = counts(ch.msgs);
  assert.deepEqual(live.slice(0, 3), [1, 4, 4]);
  await s.close();
  assert.deepEqual(await afterRestart(dir), live);
});
