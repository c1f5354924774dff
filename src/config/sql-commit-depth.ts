/**
 * `--sql_commit_depth` / `sql_options { commit_depth }` (our extension): how many group-commit
 * transactions the SQL store keeps in flight at most (src/store/sql/commit-flights.ts). 0 or
 * absent: the store's default per dialect (defaultCommitDepth in sql-store-options.ts).
 *
 * Why 1..8: each transaction in flight holds one writer connection (the writer pool is sized
 * to the depth) and one batch in memory. Depth 3 measured no better than 2 on this machine's
 * local databases (docs/performance.md, "Commit depth 1, 2 and 3"); a depth above 2 can only
 * pay when the database is far away (a commit's round trip long against the time it takes to
 * write the next batch), and 8 transactions cover a round trip of several milliseconds at
 * these batch sizes while keeping the connections the server opens bounded (8 writers beside
 * the readers' sql_max_open_conns).
 */
import { ConfigError } from './errors';

export const SQL_COMMIT_DEPTH_MAX = 8;

/** What an error about the value says is allowed. */
export const SQL_COMMIT_DEPTH_RANGE = `an integer from 1 to ${SQL_COMMIT_DEPTH_MAX}, or 0 for the default per database`;

/**
 * The error for a value that is not allowed: it names `what` (the flag or the configuration
 * key; `at`: the key's `file:line:col: `) and the allowed range. The server does not start.
 */
export function commitDepthError(shown: string, what: string, at = ''): ConfigError {
  return new ConfigError(`${at}invalid value ${shown} for ${what}: expected ${SQL_COMMIT_DEPTH_RANGE}`);
}

/** The depth `v` if it is allowed (0 = the default), else {@link commitDepthError}. */
export function checkedCommitDepth(v: number, what: string, at = ''): number {
  if (Number.isInteger(v) && v >= 0 && v <= SQL_COMMIT_DEPTH_MAX) return v;
  throw commitDepthError(String(v), what, at);
}
