/**
 * The SQL commit depth: the range `--sql_commit_depth` / `commit_depth` accept (the loader's
 * messages themselves are in the golden cases, test/golden/config/*commit-depth*).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkedCommitDepth, SQL_COMMIT_DEPTH_MAX } from '../../src/config/sql-commit-depth';
import { ConfigError } from '../../src/config/errors';

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
