/**
 * The WAL file grown by the write thread as it starts (src/store/sql/sqlite-wal-grow.ts): the
 * file reaches the target, the rolled-back frames are never read as data (the rows written
 * afterwards reuse the file from its start, the file keeps its size, integrity_check passes), a
 * process killed -9 in the middle of a burst on a grown WAL loses no answered row, and the store
 * opens again (recovery from that WAL) with every answered row.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openLeaseKnex, openSqlite, SQLITE_FILE } from '../../src/store/sql/open';
import { BOUND_PAGES, LEASE_MARK, MAIN_MARK_BUSY, SQLITE_DEFAULT_MARK, SWEEP_MS } from '../../src/store/sql/sqlite-checkpoint';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { burstPlan, openThreadStore } from '../helpers/sqlite-thread-store';
import { tsxSqliteWriter } from '../helpers/sqlite-writer';

const GROW = 8 << 20;

const size = (f: string): number => (fs.existsSync(f) ? fs.statSync(f).size : 0);

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A store whose thread grew its WAL to GROW. */
async function openGrown(prefix: string): Promise<Awaited<ReturnType<typeof openThreadStore>> & { wal: string }> {
  const o = await openThreadStore(prefix, GROW);
  const wal = path.join(o.dir, `${SQLITE_FILE}-wal`);
  await until(() => size(wal) >= GROW, 'the WAL to be grown');
  return { ...o, wal };
}

function check(dir: string): { n: number; top: number; integrity: unknown } {
  const db = new BetterSqlite3(path.join(dir, SQLITE_FILE));
  try {
    const row = db.prepare('select count(*) as n, max(seq) as top from stan_messages where channel_id = 1').get() as { n: number; top: number };
    const tables = db.prepare("select count(*) as n from sqlite_master where name = 'stan_wal_growth'").get() as { n: number };
    assert.equal(tables.n, 0, 'the scratch table was rolled back');
    return { ...row, integrity: db.pragma('integrity_check', { simple: true }) };
  } finally {
    db.close();
  }
}

test('the thread grows the WAL at its start; later commits reuse the file from its start and keep its size', async () => {
  const { dir, a, thread, wal } = await openGrown('stan-sqlite-walgrow-');
  const grown = size(wal);
  assert.ok(grown < GROW + (1 << 20), `grown to about the target (${grown})`);
  // ~2 MB of frames: well inside the grown file.
  for (let seq = 1; seq <= 5000; seq += 500) assert.equal(await thread.write(burstPlan(seq, 500)), 'ok');
  assert.equal(size(wal), grown, 'written over the rolled-back frames, not appended');
  assert.deepEqual(check(dir), { n: 5000, top: 5000, integrity: 'ok' });
  await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('after a burst through the thread, small commits on the main connection keep the WAL at its size (its mark lowered once the thread copied the burst)', async () => {
  const { dir, a, thread, wal } = await openGrown('stan-sqlite-walgrow-inline-');
  for (let seq = 1; seq <= 20_000; seq += 1000) assert.equal(await thread.write(burstPlan(seq, 1000), seq > 1), 'ok');
  const mark = async (): Promise<number> => {
    const rows = (await a.knex.raw('PRAGMA wal_autocheckpoint')) as Array<{ wal_autocheckpoint: number }>;
    return rows[0].wal_autocheckpoint;
  };
  assert.equal(await mark(), MAIN_MARK_BUSY, 'raised while the thread holds uncopied batches');
  const deadline = Date.now() + 10_000;
  while ((await mark()) !== SQLITE_DEFAULT_MARK && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await mark(), SQLITE_DEFAULT_MARK, 'lowered once the idle checkpoint copied the burst');
  const afterBurst = size(wal);
  // A sync publisher's commits: one row each, written inline on the main connection (~3 WAL
  // frames each: 5,000 of them are ~60 MB of frames should nothing checkpoint them).
  const row = Buffer.alloc(128, 1);
  for (let seq = 20_001; seq <= 25_000; seq++) await a.knex.raw('insert into stan_messages (channel_id, seq, ts, size, data) values (1, ?, ?, ?, ?)', [seq, seq, row.length, row]);
  const grew = size(wal) - afterBurst;
  assert.ok(grew < 4 << 20, `the WAL grew by ${grew} bytes under 5,000 small commits (at most SQLite's 1,000-page mark)`);
  assert.deepEqual(check(dir), { n: 25_000, top: 25_000, integrity: 'ok' });
  await a.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("an FT lease's connection never checkpoints a burst's pages (its mark past the thread's bound)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sqlite-walgrow-lease-'));
  const { knex } = await openLeaseKnex({ kind: 'sqlite', dir }, 1000);
  try {
    const rows = (await knex.raw('PRAGMA wal_autocheckpoint')) as Array<{ wal_autocheckpoint: number }>;
    assert.equal(rows[0].wal_autocheckpoint, LEASE_MARK);
    assert.ok(LEASE_MARK > BOUND_PAGES);
  } finally {
    await knex.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a store opened on a WAL already grown (a restart after a crash, an FT standby) still sweeps it: another connection's commits are copied into the database", async () => {
  // A: the first server, which grew the WAL; B opens beside it (an FT standby, or the restart
  // that finds a crashed server's WAL), then A goes away.
  const first = await openGrown('stan-sqlite-walgrow-reopen-');
  const b = await openSqlite({ dir: first.dir, sync: true, writer: tsxSqliteWriter, growWal: GROW });
  await b.writeThread?.start();
  await first.a.close();
  // Another connection (an FT lease's renewals) writes without checkpointing.
  const other = new BetterSqlite3(path.join(first.dir, SQLITE_FILE));
  other.pragma('wal_autocheckpoint = 0');
  const dbFile = path.join(first.dir, SQLITE_FILE);
  const before = size(dbFile);
  const insert = other.prepare('insert into stan_messages (channel_id, seq, ts, size, data) values (1, ?, ?, 128, ?)');
  const row = Buffer.alloc(128, 2);
  other.transaction(() => {
    for (let seq = 1; seq <= 2000; seq++) insert.run(seq, seq, row);
  })();
  other.close();
  const deadline = Date.now() + SWEEP_MS + 5000;
  while (size(dbFile) - before < 2000 * 128 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(size(dbFile) - before >= 2000 * 128, `copied into the database within a sweep (grew by ${size(dbFile) - before} bytes)`);
  await b.close();
  fs.rmSync(first.dir, { recursive: true, force: true });
});

test('a process killed -9 mid-burst on a grown WAL loses no answered row; the store opens again with them', async () => {
  for (const killAt of [2_000, 10_000, 80_000]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sqlite-walgrow-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'helpers', 'sqlite-wal-grow-child.ts'), dir, String(GROW)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let grown = false;
    const acked = await new Promise<number>((resolve, reject) => {
      let out = '';
      let last = 0;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('grown')) grown = true;
        for (const m of out.matchAll(/acked (\d+)\n/g)) last = Math.max(last, Number(m[1]));
        out = out.slice(out.lastIndexOf('\n') + 1);
        if (last >= killAt) {
          child.kill('SIGKILL');
          resolve(last);
        }
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before ${killAt} rows were answered`)));
    });
    await exited;
    assert.ok(grown, 'the WAL was grown before the burst');
    const after = check(dir);
    assert.equal(after.integrity, 'ok', `killed after ${acked} answered rows`);
    assert.ok(after.n >= acked && after.n === after.top, `killed after ${acked} answered rows: ${after.n} rows, max seq ${after.top}`);
    // The store opens again over that WAL (recovery) and sees the same rows.
    const a = await openSqlite({ dir, sync: true });
    await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
    const [row] = (await a.rawRows('select count(*) as n from stan_messages where channel_id = 1')) as Array<{ n: number }>;
    assert.equal(row.n, after.n);
    await a.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
