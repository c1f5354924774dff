/**
 * The FILE store's WAL checkpoints run by the write thread (src/store/sql/sqlite-checkpoint.ts):
 * a burst written through the thread is copied into the database file once the thread is idle;
 * under writes that never pause the WAL file stays bounded (the thread checkpoints at its bound);
 * and a process killed while its thread checkpoints loses nothing that was answered 'ok' (the
 * WAL stays the durable record until a checkpoint has copied and synced all of it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SQLITE_FILE } from '../../src/store/sql/open';
import type { SqliteWriteThread } from '../../src/store/sql/sqlite-writer';
import { BOUND_PAGES, IDLE_MS } from '../../src/store/sql/sqlite-checkpoint';
import { BURST_ROW_BYTES, burstPlan, openThreadStore } from '../helpers/sqlite-thread-store';

const openThread = (): ReturnType<typeof openThreadStore> => openThreadStore('stan-sqlite-ckpt-');

/** `total` rows in batches of 1,000, two in flight, chained (as the store hands them over). */
async function writeRows(thread: SqliteWriteThread, total: number): Promise<void> {
  const results: Array<Promise<string>> = [];
  for (let seq = 1; seq <= total; seq += 1000) {
    results.push(thread.write(burstPlan(seq, Math.min(1000, total - seq + 1)), seq > 1));
    if (results.length >= 2) assert.equal(await results[results.length - 2], 'ok');
  }
  for (const r of await Promise.all(results)) assert.equal(r, 'ok');
}

/** The bound in pages of 4 KB (+ frame headers), one transaction and the checkpoint's own overlap. */
const WAL_LIMIT = BOUND_PAGES * 4120 * 1.3;

const size = (f: string): number => (fs.existsSync(f) ? fs.statSync(f).size : 0);

test('a burst written through the thread is copied into the database file once the thread is idle', async () => {
  const { dir, a, thread } = await openThread();
  const dbFile = path.join(dir, SQLITE_FILE);
  const before = size(dbFile);
  await writeRows(thread, 20_000);
  const deadline = Date.now() + 10_000;
  while (size(dbFile) - before < 20_000 * BURST_ROW_BYTES && Date.now() < deadline) await new Promise((r) => setTimeout(r, IDLE_MS));
  assert.ok(size(dbFile) - before >= 20_000 * BURST_ROW_BYTES, `the database file holds the rows (grew by ${size(dbFile) - before} bytes)`);
  await a.close();
});

test('under writes that never pause the WAL file stays bounded', async () => {
  const { dir, a, thread } = await openThread();
  // ~3× the bound's worth of WAL pages without a pause (each transaction's answer waited for).
  await writeRows(thread, 450_000);
  const wal = size(path.join(dir, `${SQLITE_FILE}-wal`));
  assert.ok(wal > 0 && wal <= WAL_LIMIT, `WAL ${wal} bytes, bound ${WAL_LIMIT}`);
  await a.close();
});

test('another connection committing all through the burst (an FT lease renewing): the WAL file stays bounded', async () => {
  const { dir, a, thread } = await openThread();
  const lease = new BetterSqlite3(path.join(dir, SQLITE_FILE));
  // Never checkpointing itself (its LEASE_MARK is never reached while the thread runs): only the
  // thread's checkpoints bound the WAL here.
  lease.pragma('wal_autocheckpoint = 0');
  lease.exec('create table lease_probe (n integer)');
  const renew = lease.prepare('insert into lease_probe values (?)');
  let n = 0;
  // 25 times as often as a lease renews (250 ms), so that commits overlap the thread's checkpoints.
  const timer = setInterval(() => renew.run(n++), 10);
  try {
    // ~5 bounds' worth of frames: a WAL that no checkpoint starts again grows by each of them.
    await writeRows(thread, 900_000);
  } finally {
    clearInterval(timer);
  }
  const wal = size(path.join(dir, `${SQLITE_FILE}-wal`));
  lease.close();
  assert.ok(n > 20, `the other connection committed during the burst (${n})`);
  // Measured: 67 MB; 214 MB with the bound on the thread's own estimated pages.
  assert.ok(wal > 0 && wal <= WAL_LIMIT, `WAL ${wal} bytes, bound ${WAL_LIMIT}`);
  await a.close();
});

test('a process killed while its write thread checkpoints loses nothing answered', async () => {
  for (const delay of [IDLE_MS - 5, IDLE_MS + 10, IDLE_MS + 25]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sqlite-ckpt-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'helpers', 'sqlite-checkpoint-child.ts'), dir, '60000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const acked = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /acked (\d+)/.exec(out);
        if (m !== null) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before its rows were answered`)));
    });
    // The idle checkpoint starts IDLE_MS after the last answer and copies ~60,000 rows' pages.
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    await exited;
    const db = new BetterSqlite3(path.join(dir, SQLITE_FILE));
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const row = db.prepare('select count(*) as n, max(seq) as top from stan_messages where channel_id = 1').get() as { n: number; top: number };
      assert.deepEqual(row, { n: acked, top: acked }, `killed ${delay} ms after the last answer: every answered row is there`);
    } finally {
      db.close();
    }
  }
});
