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

const TWO_32 = 4294967296;

/** Reads the packed rows of PAGE_SQL_PG; exported for its unit test. */
export function unpackPgPage(packed: Buffer, row: (seq: number, ts: number, data: Buffer) => void): void {
  let p = 0;
  while (p < packed.length) {
    if (p + 20 > packed.length) throw new Error(`cold page from PostgreSQL cut short at byte ${p} of ${packed.length}`);
    // Each int64 as a signed high half and an unsigned low half: one rounding, as Number() of the decimal.
    const seq = packed.readInt32BE(p) * TWO_32 + packed.readUInt32BE(p + 4);
    const ts = packed.readInt32BE(p + 8) * TWO_32 + packed.readUInt32BE(p + 12);
    const len = packed.readUInt32BE(p + 16);
    p += 20;
    if (p + len > packed.length) throw new Error(`cold page from PostgreSQL cut short in the row of seq ${seq}`);
    row(seq, ts, packed.subarray(p, p + len));
    p += len;
  }
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
