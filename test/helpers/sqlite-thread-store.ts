/**
 * A FILE store's SQL side opened with its write thread running (the tsx spawner), for the int
 * tests of the thread's commits, checkpoints and WAL growth; and the burst rows they write.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { packSqliteBatch, type SqliteBatchPlan } from '../../src/store/sql/sqlite-batch';
import { EventKind } from '../../src/store/events/events';
import type { SqliteWriteThread } from '../../src/store/sql/sqlite-writer';
import type { DialectAdapter } from '../../src/store/sql/dialect';
import { tsxSqliteWriter } from './sqlite-writer';

/** Opens a new store in a temp dir named after `prefix`, its schema created and its thread started (`growWal`: as the server passes it). */
export async function openThreadStore(prefix: string, growWal?: number): Promise<{ dir: string; a: DialectAdapter; thread: SqliteWriteThread }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const a = await openSqlite({ dir, sync: true, writer: tsxSqliteWriter, growWal });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  const thread = a.writeThread;
  assert.ok(thread, 'the store commits through a write thread');
  await thread.start();
  return { dir, a, thread };
}

const DATA = Buffer.alloc(160, 7);
/** The payload size of burstPlan's rows. */
export const BURST_ROW_BYTES = DATA.length;

/** `n` rows of channel 1 from sequence `first` (the channel created with the first one). */
export function burstPlan(first: number, n: number): SqliteBatchPlan {
  return packSqliteBatch(
    first === 1 ? [{ kind: EventKind.ChannelCreated, channelID: 1, name: 'c' }] : [],
    Array.from({ length: n }, (_, i) => ({ channel_id: 1, seq: first + i, ts: 1_700_000_000_000 + first + i, size: DATA.length, data: DATA, src: DATA, at: 0 })),
    { dropChannels: [], skipExisting: false, encrypting: false },
  );
}
