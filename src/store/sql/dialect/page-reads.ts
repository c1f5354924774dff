/**
 * Cold page reads (cold-pages.ts) straight on each driver: one prepared statement, rows as
 * arrays, no query builder. A catch-up reads every stored message once through here, so the
 * per-row cost is the replay's: Kysely's object rows (one object with three properties per row,
 * built by the driver) and its per-query compile were ~4 µs per row on SQLite in the profile.
 * The statement is prepared once per connection (SQLite: once; PostgreSQL: a named statement;
 * MySQL/MariaDB: `execute`, the binary protocol, which also sends the blobs without hex).
 */

/** Calls `row` for every committed message row of the channel with from <= seq <= to, in order. */
export type PageRead = (channelID: number, from: number, to: number, row: (seq: number, ts: number, data: Buffer) => void) => Promise<void>;

const PAGE_SQL = 'SELECT seq, ts, data FROM stan_messages WHERE channel_id = ? AND seq >= ? AND seq <= ? ORDER BY seq';
const PAGE_SQL_PG = 'SELECT seq, ts, data FROM stan_messages WHERE channel_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq';

type Row = [number | string, number | string, Buffer];

/** BIGINT values: numbers, or strings where the driver keeps big values exact (MySQL timestamps). */
function num(v: number | string): number {
  return typeof v === 'number' ? v : Number(v);
}

interface SqliteReader {
  prepare(sql: string): { raw(on: boolean): { all(...params: number[]): unknown[] } };
}

/** better-sqlite3 (synchronous): the reader connection, a statement in raw (array) mode. */
export function sqlitePageRead(db: SqliteReader): PageRead {
  let stmt: { all(...params: number[]): unknown[] } | undefined;
  return (channelID, from, to, row) => {
    try {
      stmt ??= db.prepare(PAGE_SQL).raw(true);
      const rows = stmt.all(channelID, from, to) as Row[];
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        row(num(r[0]), num(r[1]), r[2]);
      }
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  };
}

interface PgPool {
  query(cfg: { name: string; text: string; values: number[]; rowMode: 'array' }): Promise<{ rows: unknown[] }>;
}

/** node-postgres: a named (prepared once per connection) statement, rows as arrays. */
export function pgPageRead(pool: PgPool): PageRead {
  return async (channelID, from, to, row) => {
    const res = await pool.query({ name: 'stan_cold_page', text: PAGE_SQL_PG, values: [channelID, from, to], rowMode: 'array' });
    const rows = res.rows as Row[];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      row(num(r[0]), num(r[1]), r[2]);
    }
  };
}

interface MysqlPool {
  execute(opts: { sql: string; rowsAsArray: boolean }, values: number[], cb: (err: Error | null, rows: unknown) => void): void;
}

/** mysql2: `execute` (server-side prepared statement cached per connection, binary rows). */
export function mysqlPageRead(pool: MysqlPool): PageRead {
  return (channelID, from, to, row) =>
    new Promise<void>((resolve, reject) => {
      pool.execute({ sql: PAGE_SQL, rowsAsArray: true }, [channelID, from, to], (err, result) => {
        if (err) return reject(err);
        try {
          const rows = result as Row[];
          for (let i = 0; i < rows.length; i++) {
            const r = rows[i];
            row(num(r[0]), num(r[1]), r[2]);
          }
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });
}
