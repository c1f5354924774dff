/**
 * Backup and restore (issue 5 item 10, docs/backup.md), on PostgreSQL, MariaDB and FILE
 * (SQLite): a server fills two channels and leaves a durable subscription with some messages
 * acknowledged and others pending, then stops cleanly; the store is dumped with the real tools
 * (`pg_dump -Fc` / `pg_restore`, `mysqldump --single-transaction --hex-blob` / `mysql`,
 * better-sqlite3's online backup API), the original database is dropped, the dump restored into
 * a fresh one, and a new server with the same cluster ID on the restored copy must serve every
 * message (sequence and payload, binary included) and resume the durable where it was: the
 * unacknowledged messages redelivered, the acknowledged ones not, new messages after them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type ServerHandle } from '../../src/index';
import type { StreamingOptions } from '../../src/config/options';
import { storeOptionsFor, type TestStore } from '../helpers/server';
import { testDatabase, type DbInstance } from '../helpers/db';
import { close, Collector, connect, flushNats, publish, sleep, subscribe, type Message, type Stan } from '../helpers/stan';
import { readAll } from '../helpers/durability';

const PG_BIN = '/usr/lib/postgresql/15/bin';

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const f of open.reverse()) await f().catch(() => undefined);
});

/** Runs a tool; stdin from a file when given; rejects with its stderr on a non-zero exit. */
function run(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; stdinFile?: string; stdoutFile?: string } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const inFd = o.stdinFile !== undefined ? fs.openSync(o.stdinFile, 'r') : 'ignore';
    const outFd = o.stdoutFile !== undefined ? fs.openSync(o.stdoutFile, 'w') : 'pipe';
    const child = spawn(cmd, args, { env: { ...process.env, ...o.env }, stdio: [inFd, outFd, 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (typeof inFd === 'number') fs.closeSync(inFd);
      if (typeof outFd === 'number') fs.closeSync(outFd);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}: ${err}`));
    });
  });
}

const A_COUNT = 10;
const ACKED = 6; // the durable acks bk.a 1..6, leaves 7..10 pending
const B_PAYLOADS: Buffer[] = [
  Buffer.from([0, 1, 2, 0xff, 0xfe, 0x27, 0x5c, 0x22, 0x0a, 0x0d]), // NUL, high bytes, ' \ " \n \r
  Buffer.from('héllo wörld ✓', 'utf8'),
  Buffer.alloc(0),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.alloc(70_000, 0xab),
];
const aPayload = (i: number): string => `a-${i}-${'x'.repeat(i * 3)}`;

function durableOpts(sc: Stan) {
  return sc.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(100).setAckWait(60_000);
}

/** Fills the store: 2 channels, a durable with acked and pending messages; stops cleanly. */
async function fill(cfg: Partial<StreamingOptions>): Promise<void> {
  const s = await startServer({ streaming: cfg, nats: { port: 0 } });
  const url = s.natsURL;
  const clusterID = cfg.clusterID!;
  try {
    const pub = await connect(url, clusterID, 'pub');
    for (let i = 1; i <= A_COUNT; i++) await publish(pub, 'bk.a', aPayload(i));
    for (const p of B_PAYLOADS) await publish(pub, 'bk.b', p);
    await close(pub);

    const dc = await connect(url, clusterID, 'dur-client');
    const sub = await subscribe(dc, 'bk.a', durableOpts(dc));
    const col = new Collector(sub, false);
    await col.waitFor(A_COUNT, 10_000);
    assert.deepEqual(col.seqs(), Array.from({ length: A_COUNT }, (_, i) => i + 1));
    for (const m of col.msgs.slice(0, ACKED)) m.ack();
    await flushNats(dc);
    await sleep(300); // acks processed and committed before the client leaves
    await close(dc); // connection closed: the durable (and its pending messages) stays
    await sleep(100);
  } finally {
    await s.close();
  }
}

/** Checks everything is back on a server started on the restored store. */
async function verify(cfg: Partial<StreamingOptions>): Promise<void> {
  const s: ServerHandle = await startServer({ streaming: cfg, nats: { port: 0 } });
  open.push(() => s.close());
  const url = s.natsURL;
  const clusterID = cfg.clusterID!;
  try {
    const a = await readAll(url, clusterID, 'bk.a', A_COUNT);
    assert.deepEqual(
      a.map((m) => [m.getSequence(), String(m.getData())]),
      Array.from({ length: A_COUNT }, (_, i) => [i + 1, aPayload(i + 1)]),
    );
    const b = await readAll(url, clusterID, 'bk.b', B_PAYLOADS.length);
    assert.deepEqual(b.map((m) => m.getSequence()), B_PAYLOADS.map((_, i) => i + 1));
    b.forEach((m, i) => {
      const raw = m.getRawData();
      assert.ok(Buffer.from(raw).equals(B_PAYLOADS[i]), `bk.b seq ${i + 1}: payload differs (${raw.length} bytes vs ${B_PAYLOADS[i].length})`);
    });

    // The durable resumes: 7..10 redelivered (flagged), 1..6 not; a new message comes after.
    const dc = await connect(url, clusterID, 'dur-client');
    const sub = await subscribe(dc, 'bk.a', durableOpts(dc));
    const col = new Collector(sub, true);
    await col.waitFor(A_COUNT - ACKED, 10_000);
    await sleep(300);
    const pending = (col.msgs as Message[]).map((m) => [m.getSequence(), m.isRedelivered(), String(m.getData())]);
    assert.deepEqual(pending, Array.from({ length: A_COUNT - ACKED }, (_, i) => [ACKED + i + 1, true, aPayload(ACKED + i + 1)]));
    const pub = await connect(url, clusterID, 'pub2');
    await publish(pub, 'bk.a', 'after-restore');
    await col.waitFor(A_COUNT - ACKED + 1, 5000);
    const last = col.msgs[A_COUNT - ACKED];
    assert.deepEqual([last.getSequence(), last.isRedelivered(), String(last.getData())], [A_COUNT + 1, false, 'after-restore']);
    await sleep(200);
    assert.equal(col.msgs.length, A_COUNT - ACKED + 1, 'no acknowledged message came back');
    await close(pub);
    await close(dc);
  } finally {
    await s.close();
  }
}

function sqlCfg(driver: 'postgres' | 'mysql', source: string, clusterID: string): Partial<StreamingOptions> {
  return { clusterID, storeType: 'SQL', sql: { driver, source, autoMigrate: true, noCaching: false, maxOpenConns: 4, bulkInsertLimit: 0 } };
}

function tmp(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  open.push(async () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

async function dropDb(inst: DbInstance, name: string): Promise<void> {
  await inst.adminQuery(inst.kind === 'postgres' ? `DROP DATABASE "${name}" WITH (FORCE)` : `DROP DATABASE \`${name}\``);
}

const STORES: TestStore[] = ['postgres', 'mysql', 'file'];

describe('backup and restore', () => {
  for (const store of STORES) {
    test(`${store}: dump, restore into a fresh database, every message and the durable position are back`, async () => {
      const clusterID = `bk-${store}-${process.pid}`;
      const work = tmp('stan-backup-');
      if (store === 'postgres' || store === 'mysql') {
        const kind = store === 'postgres' ? 'postgres' : 'mariadb';
        const src = await testDatabase(kind, 'bksrc');
        const inst = src.instance;
        await fill(sqlCfg(store, src.url, clusterID));

        const dump = path.join(work, store === 'postgres' ? 'stan.dump' : 'stan.sql');
        const restoredUrl = await inst.createDatabase();
        const restoredName = decodeURIComponent(new URL(restoredUrl).pathname.slice(1));
        if (store === 'postgres') {
          await run(path.join(PG_BIN, 'pg_dump'), ['-Fc', '-f', dump, '-d', src.url]);
          await dropDb(inst, src.name); // the restore cannot read the original
          await run(path.join(PG_BIN, 'pg_restore'), ['--no-owner', '--exit-on-error', '-d', inst.url(restoredName), dump]);
        } else {
          const conn = ['-h', inst.host, '-P', String(inst.port), '-u', inst.user];
          const env = { MYSQL_PWD: inst.password };
          await run('mysqldump', ['--single-transaction', '--hex-blob', '--routines', '--triggers', ...conn, src.name], { env, stdoutFile: dump });
          await dropDb(inst, src.name);
          await run('mysql', [...conn, restoredName], { env, stdinFile: dump });
        }
        assert.ok(fs.statSync(dump).size > 0);
        await verify(sqlCfg(store, restoredUrl, clusterID));
      } else {
        const opts = await storeOptionsFor('file');
        const dir = opts.filestoreDir!;
        open.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
        await fill({ ...opts, clusterID });
        const backup = path.join(work, 'stan-backup.db');
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(path.join(dir, 'stan.db'), { readonly: true });
        try {
          await db.backup(backup);
        } finally {
          db.close();
        }
        fs.rmSync(dir, { recursive: true, force: true }); // the original is gone
        const restoredDir = tmp('stan-restored-');
        fs.copyFileSync(backup, path.join(restoredDir, 'stan.db'));
        await verify({ ...opts, filestoreDir: restoredDir, clusterID });
      }
    });
  }
});
