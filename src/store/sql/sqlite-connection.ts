/**
 * The FILE store's writer connection on the main thread, opened on first use: one
 * better-sqlite3 connection lent to one user at a time. The small commits written inline
 * (sqlite-inline.ts) take it directly; Knex, created only when something needs it (a
 * snapshot, the import marker, a migration), gets it as its pool (Knex's `connectionPool`
 * takes any object with tarn's interface), so both write on the one connection, in turn, as
 * when the inline writer borrowed Knex's single pooled connection.
 *
 * Why not Knex's own pool: a FILE start-up answers its first connect only after a commit (the
 * client's registration), and taking that commit's connection from Knex meant initialising
 * Knex (with lodash and tarn) and its pool on the way to the first answer
 * (docs/startup.md has the figures).
 */
import type BetterSqlite3 from 'better-sqlite3';

/** The connection source the inline writer takes (Knex's client has the same two methods). */
export interface SqliteConnectionSource {
  acquireConnection(): Promise<BetterSqlite3.Database>;
  releaseConnection(c: BetterSqlite3.Database): Promise<unknown>;
}

export class SqliteWriterConnection implements SqliteConnectionSource {
  private db: BetterSqlite3.Database | undefined;
  private lent = false;
  /** `wal_autocheckpoint` set on the connection when opened (undefined: SQLite's default). */
  private checkpointMark: number | undefined;
  /** Borrowers waiting, first come first served; each is handed the connection in turn. */
  private readonly waiting: Array<() => void> = [];

  /** `open` opens the connection with its pragmas; a throw fails that borrower only. */
  constructor(private readonly open: () => BetterSqlite3.Database) {}

  async acquireConnection(): Promise<BetterSqlite3.Database> {
    if (this.lent) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.lent = true;
    try {
      if (this.db === undefined) {
        const db = this.open();
        if (this.checkpointMark !== undefined) db.pragma(`wal_autocheckpoint = ${this.checkpointMark}`);
        this.db = db;
      }
      return this.db;
    } catch (err) {
      this.handOn();
      throw err;
    }
  }

  releaseConnection(): Promise<void> {
    this.handOn();
    return Promise.resolve();
  }

  /**
   * SQLite's automatic checkpoint mark (WAL pages) for this connection, now and when it opens
   * again: raised while the write thread holds batches no checkpoint copied yet (a small commit
   * here must not copy a burst's pages on the event loop), SQLite's default otherwise
   * (sqlite-checkpoint.ts, sqlite-writer.ts).
   */
  setCheckpointMark(pages: number): void {
    this.checkpointMark = pages;
    this.db?.pragma(`wal_autocheckpoint = ${pages}`);
  }

  /** Closes the connection (the store closes); a later borrower would open a new one. */
  close(): void {
    this.db?.close();
    this.db = undefined;
  }

  /** The pool Knex is given (tarn's interface, as Knex recognises it). */
  knexPool(): KnexExternalPool {
    return {
      acquire: () => ({ promise: this.acquireConnection() }),
      release: () => {
        this.handOn();
        return true;
      },
      // Knex leaves a pool it was given alone; close() closes the connection.
      destroy: () => Promise.resolve(),
      numFree: () => (this.lent ? 0 : 1),
      numUsed: () => (this.lent ? 1 : 0),
      numPendingAcquires: () => this.waiting.length,
    };
  }

  private handOn(): void {
    const next = this.waiting.shift();
    // The next borrower gets it straight away (still lent); nobody waiting: free.
    if (next !== undefined) next();
    else this.lent = false;
  }
}

/** What Knex calls on a pool given as `connectionPool` (tarn's names). */
export interface KnexExternalPool {
  acquire(): { promise: Promise<BetterSqlite3.Database> };
  release(c: BetterSqlite3.Database): boolean;
  destroy(): Promise<void>;
  numFree(): number;
  numUsed(): number;
  numPendingAcquires(): number;
}
