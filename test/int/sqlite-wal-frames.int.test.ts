/**
 * The WAL's frame count read from the wal-index header (src/store/sql/sqlite-wal-frames.ts)
 * against SQLite's own count (`PRAGMA wal_checkpoint` answers it as `log`), and after the WAL
 * started again from its beginning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { WalFrameCount } from '../../src/store/sql/sqlite-wal-frames';

test("the frame count follows SQLite's, and falls when the WAL starts again", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-wal-frames-'));
  const file = path.join(dir, 'x.db');
  const count = new WalFrameCount(file);
  assert.equal(count.frames(), undefined, 'no wal-index yet');
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('create table t (b blob)');
    const insert = db.prepare('insert into t values (?)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run(Buffer.alloc(400, i));
    })();
    const before = count.frames();
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number; checkpointed: number }>;
    assert.ok(before !== undefined && before > 100, `frames counted (${before})`);
    assert.equal(before, r.log, "SQLite's own count");
    insert.run(Buffer.alloc(10));
    const after = count.frames();
    assert.ok(after !== undefined && after < 10, `started again from its beginning (${after})`);
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
