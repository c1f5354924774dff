/**
 * The WAL file the FILE store's write thread flushes (src/store/sql/sqlite-wal-sync.ts,
 * WalFile) on the real file system: a flush of a database whose WAL is missing fails (nothing
 * may be answered as durable then), a flush of an existing WAL succeeds, and a WAL replaced
 * under the same name is reopened, so the flush reaches the file SQLite writes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WalFile, type WalIo } from '../../src/store/sql/sqlite-wal-sync';

function flush(w: WalFile): Promise<Error | null> {
  return new Promise((resolve) => w.flush(resolve));
}

/** What this process's open descriptors point at (Linux /proc). */
function openTargets(): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed meanwhile (the readdir's own descriptor)
    }
  }
  return out;
}

test('a flush fails when the WAL file is missing, and succeeds once it exists', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-wal-file-'));
  const db = path.join(dir, 'stan.db');
  const w = new WalFile(db);
  try {
    const missing = await flush(w);
    assert.ok(missing instanceof Error, 'no WAL: the flush reports an error');
    assert.equal((missing as NodeJS.ErrnoException).code, 'ENOENT');
    fs.writeFileSync(`${db}-wal`, Buffer.alloc(4096, 1));
    assert.equal(await flush(w), null);
  } finally {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a WAL replaced under the same name is reopened by the next flush', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-wal-file-'));
  const db = path.join(dir, 'stan.db');
  const wal = `${db}-wal`;
  const w = new WalFile(db);
  try {
    fs.writeFileSync(wal, Buffer.alloc(4096, 1));
    assert.equal(await flush(w), null);
    assert.ok(openTargets().includes(wal), 'the WAL is held open');
    fs.rmSync(wal);
    fs.writeFileSync(wal, Buffer.alloc(4096, 2));
    assert.ok(!openTargets().includes(wal), 'only the removed file is held before the next flush');
    assert.equal(await flush(w), null);
    assert.ok(openTargets().includes(wal), 'the new WAL is opened by the flush');
  } finally {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!openTargets().some((t) => t.startsWith(wal)), 'close() closes every descriptor it opened');
});

test('running out of descriptors while opening the WAL delays the flush instead of failing it; EIO fails it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-wal-file-'));
  const db = path.join(dir, 'stan.db');
  fs.writeFileSync(`${db}-wal`, Buffer.alloc(4096, 1));
  let failOpens = 3;
  let failWith = 'EMFILE';
  const io: WalIo = {
    ...fs,
    openSync: ((p: fs.PathLike, flags?: fs.OpenMode) => {
      if (failOpens > 0) {
        failOpens--;
        throw Object.assign(new Error(`${failWith}: simulated, open '${String(p)}'`), { code: failWith });
      }
      return fs.openSync(p, flags ?? 'r');
    }) as typeof fs.openSync,
  };
  const retries: number[] = [];
  const w = new WalFile(db, io, (fn, ms) => {
    retries.push(ms);
    setImmediate(fn);
  });
  try {
    assert.equal(await flush(w), null, 'flushed once the descriptors were back');
    assert.equal(retries.length, 3, 'one retry per failed open');
    w.close();
    const w2 = new WalFile(db, io, (fn) => setImmediate(fn));
    failOpens = 1;
    failWith = 'EIO';
    const err = await flush(w2);
    assert.equal((err as NodeJS.ErrnoException | null)?.code, 'EIO', 'a disk error is not retried');
    w2.close();
  } finally {
    w.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!openTargets().some((t) => t.startsWith(`${db}-wal`)), 'no descriptor left open');
});
