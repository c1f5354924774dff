/**
 * Cold page reads (cold-pages.ts) straight on each driver: one prepared statement, rows as
 * arrays, no query builder. A catch-up reads every stored message once through here, so the
 * per-row cost is the replay's: Kysely's object rows (one object with three properties per row,
 * built by the driver) and its per-query compile were ~4 µs per row on SQLite in the profile.
 * The statement is prepared once per connection (SQLite: once; PostgreSQL: a named statement;
 * MySQL/MariaDB: `execute`, the binary protocol, which also sends the blobs without hex).
 */
import { unpackPage } from '../page-pack';

/** Calls `row` for every committed message row of the channel with from <= seq <= to, in order. */
export type PageRead = (channelID: number, from: number, to: number, row: (seq: number, ts: number, data: Buffer) => void) => Promise<void>;

export const PAGE_SQL = 'SELECT seq, ts, data FROM stan_messages WHERE channel_id = ? AND seq >= ? AND seq <= ? ORDER BY seq';

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

/** What the FILE store's thread offers (sqlite-writer.ts): a page read on its connection, packed. */
interface PageThread {
  readPage(r: { channelID: number; from: number; to: number }): Promise<Buffer | null>;
}

/**
 * FILE: pages read on the store's SQLite thread, not on the main thread, where better-sqlite3
 * blocks the event loop for the whole query (~1.5–2 µs per 160-byte row measured, a third of
 * the server's CPU per replayed message). The main thread only unpacks the page. If the thread
 * cannot answer (it died, or cannot start), the page is read on the main thread as before:
 * the thread's failure is the write path's to report, a catch-up should not stall on it.
 */
export function threadPageRead(thread: PageThread, inline: PageRead): PageRead {
  return async (channelID, from, to, row) => {
    let page: Buffer | null;
    try {
      page = await thread.readPage({ channelID, from, to });
    } catch {
      return inline(channelID, from, to, row);
    }
    if (page !== null) unpackPage(page, 'the SQLite thread', row);
  };
}

interface PgPool {
  query(cfg: { name: string; text: string; values: number[] }): Promise<{ rows: Array<{ page: string | null }> }>;
}

/**
 * PostgreSQL: the whole page as ONE value. Row by row, node-postgres decoded each field as
 * text (seq and ts as decimal strings, the payload as a hex string twice its size) and parsed
 * it back: ~20% of the server's CPU in a catch-up profile (pg-protocol parse, utf8Slice,
 * hexWrite, Number). Here PostgreSQL packs every row of the page as
 * int8 seq | int8 ts | int4 length | data into one bytea, in sequence order, sent as base64
 * (PostgreSQL wraps it in lines, which Buffer.from ignores): one string decode per page.
 */
const PAGE_SQL_PG =
  "SELECT encode(string_agg(int8send(seq) || int8send(ts) || int4send(length(data)) || data, ''::bytea ORDER BY seq), 'base64') AS page " +
  'FROM stan_messages WHERE channel_id = $1 AND seq >= $2 AND seq <= $3';

/** Reads the packed rows of PAGE_SQL_PG; exported for its unit test. */
export function unpackPgPage(packed: Buffer, row: (seq: number, ts: number, data: Buffer) => void): void {
  unpackPage(packed, 'PostgreSQL', row);
}

/** node-postgres: a named (prepared once per connection) statement answering one packed value. */
export function pgPageRead(pool: PgPool): PageRead {
  return async (channelID, from, to, row) => {
    const res = await pool.query({ name: 'stan_cold_page', text: PAGE_SQL_PG, values: [channelID, from, to] });
    const page = res.rows[0]?.page;
    if (page === null || page === undefined) return;
    unpackPgPage(Buffer.from(page, 'base64'), row);
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
