/**
 * The SQL commit depth: the range `--sql_commit_depth` / `commit_depth` accept (the loader's
 * messages themselves are in the golden cases, test/golden/config/*commit-depth*), and the
 * default per database that an absent or 0 value leaves to the store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkedCommitDepth, SQL_COMMIT_DEPTH_MAX } from '../../src/config/sql-commit-depth';
import { ConfigError } from '../../src/config/errors';
import { defaultCommitDepth, SQLITE_THREAD_DEPTH } from '../../src/store/sql/sql-store-options';
import type { SqliteWriteThread } from '../../src/store/sql/sqlite-writer';

test('commit depth: 0 (the default) and 1..8 pass, anything else is a ConfigError naming the range', () => {
  for (let d = 0; d <= SQL_COMMIT_DEPTH_MAX; d++) assert.equal(checkedCommitDepth(d, 'flag --sql_commit_depth'), d);
  for (const bad of [-1, SQL_COMMIT_DEPTH_MAX + 1, 1.5, Number.NaN]) {
    assert.throws(
      () => checkedCommitDepth(bad, 'flag --sql_commit_depth'),
      (e: unknown) => e instanceof ConfigError && /--sql_commit_depth/.test(e.message) && /from 1 to 8/.test(e.message),
      String(bad),
    );
  }
});

test('default commit depth: 1 on PostgreSQL and MySQL/MariaDB, the write thread\'s on SQLite', () => {
  assert.equal(defaultCommitDepth({ name: 'postgres', writeThread: undefined }), 1);
  assert.equal(defaultCommitDepth({ name: 'mysql', writeThread: undefined }), 1);
  assert.equal(defaultCommitDepth({ name: 'sqlite', writeThread: undefined }), 1);
  assert.equal(defaultCommitDepth({ name: 'sqlite', writeThread: {} as SqliteWriteThread }), SQLITE_THREAD_DEPTH);
});
