/**
 * Small FILE store commits written on the main thread, on the store's writer connection (the
 * one Knex uses too, sqlite-connection.ts), with the write thread's prepared statements (sqlite-batch.ts). A commit of a few rows (a
 * sync publisher: one message per commit) waits on the round trip to the write thread twice
 * (there and back), and on this 2-core machine with the load generator beside the server
 * each thread wake-up can wait for a core: measured, sync publishing fell from 1.2k to 640
 * msgs/s through the thread (docs/performance.md). Such a commit is mostly its fsync, which
 * a sync publisher waits for anyway.
 *
 * The store's commit loop writes one batch at a time on SQLite, so a batch written here never
 * runs beside one on the thread: commit order stays batch order. Two connections write the
 * same database in turn; SQLite's write lock (busy_timeout) orders them.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteBatchRunner, type SqliteBatchPlan } from './sqlite-batch';
import type { SqliteConnectionSource } from './sqlite-connection';

/** Batches of at most this many message rows and event rows together are written inline. */
export const SQLITE_INLINE_MAX_ROWS = 8;

export class InlineSqliteWriter {
  private runner: SqliteBatchRunner | undefined;
  private conn: BetterSqlite3.Database | undefined;

  /** `client`: the store's writer connection (sqlite-connection.ts), or a Knex client's pool. */
  constructor(private readonly client: SqliteConnectionSource) {}

  /** Writes the plan in one transaction on the writer connection (see SqliteBatchRunner.run). */
  async write(plan: SqliteBatchPlan): Promise<'ok' | 'fence-lost'> {
    const client = this.client;
    const db = await client.acquireConnection();
    try {
      if (this.runner === undefined || this.conn !== db) {
        this.runner = new SqliteBatchRunner(db);
        this.conn = db;
      }
      return this.runner.run(plan);
    } finally {
      await client.releaseConnection(db);
    }
  }
}
