/**
 * Child process of test/int/sqlite-wal-grow.int.test.ts: opens the FILE store's database in the
 * directory given as argv[2] with the real write thread, which grows the WAL file to argv[3]
 * bytes as it starts; once it has, prints `grown`, then writes rows of one channel without end
 * in batches of 500 (two in flight, chained, as the store hands them over) and prints
 * `acked <last seq>` each time a batch is answered 'ok' (a PubAck's condition), until killed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSqlite, SQLITE_FILE } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { packSqliteBatch } from '../../src/store/sql/sqlite-batch';
import { EventKind } from '../../src/store/events/events';
import { tsxSqliteWriter } from './sqlite-writer';

async function main(): Promise<void> {
  const dir = process.argv[2];
  const grow = Number(process.argv[3]);
  const a = await openSqlite({ dir, sync: true, writer: tsxSqliteWriter, growWal: grow });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  const thread = a.writeThread;
  if (thread === undefined) throw new Error('no write thread');
  const wal = path.join(dir, `${SQLITE_FILE}-wal`);
  while (!fs.existsSync(wal) || fs.statSync(wal).size < grow) await new Promise((r) => setTimeout(r, 10));
  process.stdout.write('grown\n');
  const data = Buffer.alloc(160, 7);
  const batch = (first: number, withChannel: boolean) =>
    packSqliteBatch(
      withChannel ? [{ kind: EventKind.ChannelCreated, channelID: 1, name: 'c' }] : [],
      Array.from({ length: 500 }, (_, i) => ({ channel_id: 1, seq: first + i, ts: 1_700_000_000_000 + first + i, size: data.length, data, src: data, at: 0 })),
      { dropChannels: [], skipExisting: false, encrypting: false },
    );
  const inFlight: Array<{ answer: Promise<string>; last: number }> = [];
  for (let seq = 1; ; seq += 500) {
    inFlight.push({ answer: thread.write(batch(seq, seq === 1), seq > 1), last: seq + 499 });
    if (inFlight.length >= 2) {
      const b = inFlight.shift();
      if (b === undefined) continue;
      const r = await b.answer;
      if (r !== 'ok') throw new Error(`batch answered ${r}`);
      process.stdout.write(`acked ${b.last}\n`);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
