/**
 * PostgreSQL: the group commit's prepared INSERT of a few rows (postgres-rows.ts: a sync
 * publisher's one row) with its protocol messages framed here and written in one socket
 * write: Bind (the statement's values), Execute and Sync, with Parse in front the first time
 * on a connection. The same statement and name as pg's `client.query({ name, text, values })`
 * ran, without what pg's Query does around them per call: the query config cloned
 * through property descriptors (`cloneQueryConfig`, the largest JavaScript cost of a sync
 * publish in the profile), every value mapped through `prepareValue`, an EventEmitter and a
 * Result per query, a Describe the INSERT does not need, and four writes on the socket
 * (corked). Measured: docs/performance.md ("Sync publishing, round 3").
 *
 * Every value travels in binary, with the statement's parameter types given in its Parse
 * (int8, int8, int8, int4, bytea: the columns' types, as COPY binary writes them, and the
 * same integer values: postgres-copy.ts putInt8). pg's prepareValue sent the numbers as their
 * shortest decimal text instead, which cost a number-to-string conversion per value (a
 * nanosecond timestamp above 2^53 has no cheap one) and stored a timestamp above 2^53 as that
 * text's value, COPY as the double's exact one: both read back as the same double. The bytes
 * are the ones pg's serializer writes for these values as Buffers (unit test:
 * test/unit/postgres-insert.unit.test.ts), less the Describe pg added. pg keeps track of the
 * connection's prepared statements from our `name` and `text` (its ParseComplete handler
 * records them, its error handler forgets a statement whose Parse failed), so a statement is
 * prepared once per connection.
 */
import { CopySubmittable, putInt8 } from './postgres-copy';
import type { MsgRowKey } from './types';

/** The parts of pg's Connection this uses (as postgres-copy.ts: its socket), and its statement registry. */
interface PgConnection {
  readonly stream: { readonly writable: boolean; write(b: Buffer): boolean; cork?(): void; uncork?(): void };
  readonly parsedStatements: Record<string, string | undefined>;
  readonly submittedNamedStatements: Record<string, string | undefined>;
}

interface PgClient {
  query(q: PreparedInsert): unknown;
}

/** Execute (unnamed portal, all rows) and Sync. */
const EXECUTE_SYNC = Buffer.from([0x45, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0x53, 0, 0, 0, 4]);
/** The parameter types of a row (PostgreSQL type OIDs): channel_id, seq, ts int8; size int4; data bytea. */
const ROW_TYPES = [20, 20, 20, 23, 17];
/** Per row: five format codes, three int8 and one int4 with their lengths, the data's length. */
const ROW_FIXED = 5 * 2 + 3 * (4 + 8) + (4 + 4) + 4;

/** pg's query interface for a submittable (Client.query hands it the connection, then the backend's messages). */
class PreparedInsert extends CopySubmittable {
  constructor(
    readonly name: string,
    readonly text: string,
    private readonly rowCount: number,
    private readonly bind: Buffer,
    private readonly done: (err?: Error) => void,
  ) {
    super();
  }

  protected settle(err: Error | undefined): void {
    this.done(err);
  }

  submit(con: PgConnection): void {
    // A socket that is no longer writable: the connection's error settles the query (as pg's own writes).
    const s = con.stream;
    if (!s.writable) return;
    if (con.parsedStatements[this.name] === undefined && con.submittedNamedStatements[this.name] === undefined) {
      con.submittedNamedStatements[this.name] = this.text;
      s.cork?.();
      try {
        s.write(encodeInsertParse(this.name, this.text, this.rowCount));
        s.write(this.bind);
      } finally {
        s.uncork?.();
      }
      return;
    }
    s.write(this.bind);
  }
}

/** Parse: the statement's name and text, and its parameters' types (ROW_TYPES per row: the binary values' widths). */
export function encodeInsertParse(name: string, text: string, rowCount: number): Buffer {
  const n = Buffer.byteLength(name);
  const t = Buffer.byteLength(text);
  const params = ROW_TYPES.length * rowCount;
  const b = Buffer.allocUnsafe(1 + 4 + n + 1 + t + 1 + 2 + 4 * params);
  b[0] = 0x50; // 'P'
  b.writeInt32BE(b.length - 1, 1);
  let p = 5 + b.write(name, 5, 'utf8');
  b[p++] = 0;
  p += b.write(text, p, 'utf8');
  b[p++] = 0;
  b.writeInt16BE(params, p);
  p += 2;
  for (let i = 0; i < params; i++, p += 4) b.writeInt32BE(ROW_TYPES[i % ROW_TYPES.length], p);
  return b;
}

/** Bind (unnamed portal, statement `name`, the rows' values in column order, all binary), then Execute and Sync. */
export function encodeInsertBind(name: string, rows: readonly MsgRowKey[], data: readonly Buffer[]): Buffer {
  let bytes = 0;
  for (const d of data) bytes += d.length;
  const nameLen = Buffer.byteLength(name);
  const b = Buffer.allocUnsafe(1 + 4 + 1 + nameLen + 1 + 2 + 2 + rows.length * ROW_FIXED + bytes + 4 + EXECUTE_SYNC.length);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  b[0] = 0x42; // 'B'
  let p = 5;
  b[p++] = 0; // the unnamed portal
  p += b.write(name, p, 'utf8');
  b[p++] = 0;
  // A format code per parameter, all binary (as pg writes them for Buffer values).
  const params = ROW_TYPES.length * rows.length;
  v.setInt16(p, params);
  p += 2;
  for (let i = 0; i < params; i++, p += 2) v.setInt16(p, 1);
  v.setInt16(p, params);
  p += 2;
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i];
    v.setInt32(p, 8);
    putInt8(v, p + 4, m.channel_id);
    v.setInt32(p + 12, 8);
    putInt8(v, p + 16, m.seq);
    v.setInt32(p + 24, 8);
    putInt8(v, p + 28, m.ts);
    v.setInt32(p + 36, 4);
    v.setInt32(p + 40, m.size);
    const d = data[i];
    v.setInt32(p + 44, d.length);
    p += 48;
    b.set(d, p);
    p += d.length;
  }
  // Result formats: one code for every column, text (as pg writes it; an INSERT returns none).
  v.setInt16(p, 1);
  v.setInt16(p + 2, 0);
  p += 4;
  v.setInt32(1, p - 1);
  EXECUTE_SYNC.copy(b, p);
  return b.subarray(0, p + EXECUTE_SYNC.length);
}

/** Runs the prepared INSERT `name` (`text`) of `rows` on `client` (pg's Client); resolves at ReadyForQuery. */
export function runPreparedInsert(client: unknown, name: string, text: string, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  const bind = encodeInsertBind(name, rows, data);
  return new Promise<void>((resolve, reject) => {
    (client as PgClient).query(new PreparedInsert(name, text, rows.length, bind, (err) => (err === undefined ? resolve() : reject(err))));
  });
}
