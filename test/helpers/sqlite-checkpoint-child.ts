/**
 * Child process of test/int/sqlite-checkpoint.int.test.ts: opens the FILE store's database in
 * the directory given as argv[2] with the real write thread, writes argv[3] rows of one channel
 * in batches of 1,000 (two in flight, chained, as the store hands them over), prints
 * `acked <rows>` once every batch was answered 'ok' (a PubAck's condition), then waits to be
 * killed: the thread checkpoints the WAL once it is idle (sqlite-checkpoint.ts).
 */
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { packSqliteBatch } from '../../src/store/sql/sqlite-batch';
import { EventKind } from '../../src/store/events/events';
import { tsxSqliteWriter } from './sqlite-writer';

async function main(): Promise<void> {
  const dir = process.argv[2];
  const total = Number(process.argv[3]);
  const a = await openSqlite({ dir, sync: true, writer: tsxSqliteWriter });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  const thread = a.writeThread;
  if (thread === undefined) throw new Error('no write thread');
  const data = Buffer.alloc(160, 7);
  const batch = (first: number, n: number, withChannel: boolean) =>
    packSqliteBatch(
      withChannel ? [{ kind: EventKind.ChannelCreated, channelID: 1, name: 'c' }] : [],
      Array.from({ length: n }, (_, i) => ({ channel_id: 1, seq: first + i, ts: 1_700_000_000_000 + first + i, size: data.length, data, src: data, at: 0 })),
      { dropChannels: [], skipExisting: false, encrypting: false },
    );
  const results: Array<Promise<string>> = [];
  for (let seq = 1; seq <= total; seq += 1000) {
    results.push(thread.write(batch(seq, Math.min(1000, total - seq + 1), seq === 1), seq > 1));
    if (results.length >= 2) {
      const r = await results[results.length - 2];
      if (r !== 'ok') throw new Error(`batch answered ${r}`);
    }
  }
  for (const r of await Promise.all(results)) if (r !== 'ok') throw new Error(`batch answered ${r}`);
  process.stdout.write(`acked ${total}\n`);
  setInterval(() => undefined, 1000);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
