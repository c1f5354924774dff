/**
 * better-sqlite3's addon as the server loads it (src/store/sql/sqlite-driver.ts): found in the
 * installed package and handed to connections as `nativeBinding`, loaded once. The bundled
 * server relies on it (its own `bindings` lookup would search next to the bundle); the
 * start-up e2e tests run the FILE store from the bundle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sqliteAddon, sqliteOptions } from '../../src/store/sql/sqlite-driver';

test('the addon comes from the installed package, once, and opens working connections', () => {
  const addon = sqliteAddon();
  assert.equal(sqliteAddon(), addon, 'loaded once');
  assert.equal(typeof (addon as { Database?: unknown }).Database, 'function', 'better-sqlite3 addon');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sqlite-driver-'));
  try {
    const db = new BetterSqlite3(path.join(dir, 'x.db'), sqliteOptions());
    db.exec('CREATE TABLE t (v INTEGER)');
    db.prepare('INSERT INTO t VALUES (?)').run(42);
    assert.deepEqual(db.prepare('SELECT v FROM t').all(), [{ v: 42 }]);
    // Errors are better-sqlite3's SqliteError with its code (the commit classification reads it).
    assert.throws(() => db.exec('SELECT * FROM missing'), (e: unknown) => (e as { code?: unknown }).code === 'SQLITE_ERROR');
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
