/**
 * PostgreSQL: the group commit's prepared INSERT of a few rows (postgres-rows.ts: a sync
 * publisher's one row) with its protocol messages framed here and written in one socket
 * write: Bind (the statement's values), Execute and Sync, with Parse in front the first time
 * on a connection. The same statement, names and values as pg's `client.query({ name, text,
 * values })` sent, without what pg's Query does around them per call: the query config cloned
 * through property descriptors (`cloneQueryConfig`, the largest JavaScript cost of a sync
 * publish in the profile), every value mapped through `prepareValue`, an EventEmitter and a
 * Result per query, a Describe the INSERT does not need, and four writes on the socket
 * (corked). Measured: docs/performance.md ("Sync publishing, round N").
 *
 * The bytes are the ones pg wrote for the same query, less the Describe (unit test:
 * test/unit/postgres-insert.test.ts): the numbers as their shortest decimal text (`String(n)`,
 * as pg's prepareValue), the data column as binary (format code 1). pg keeps track of the
 * connection's prepared statements from our `name` and `text` (its ParseComplete handler
 * records them, its error handler forgets a statement whose Parse failed), so this query and
 * pg's own queries of the same statement share one preparation.
 */
import { CopySubmittable } from './postgres-copy';
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
/** Per row: five format codes, four numbers (length + at most 21 characters), the data's length. */
const ROW_FIXED = 5 * 2 + 4 * (4 + 24) + 4;

/** pg's query interface for a submittable (Client.query hands it the connection, then the backend's messages). */
class PreparedInsert extends CopySubmittable {
  constructor(
    readonly name: string,
    readonly text: string,
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
        s.write(parseMessage(this.name, this.text));
        s.write(this.bind);
      } finally {
        s.uncork?.();
      }
      return;
    }
    s.write(this.bind);
  }
}

/** Parse: the statement's name and text, no parameter types (the server infers them from the columns). */
function parseMessage(name: string, text: string): Buffer {
  const n = Buffer.byteLength(name);
  const t = Buffer.byteLength(text);
  const b = Buffer.allocUnsafe(1 + 4 + n + 1 + t + 1 + 2);
  b[0] = 0x50; // 'P'
  b.writeInt32BE(b.length - 1, 1);
  let p = 5 + b.write(name, 5, 'utf8');
  b[p++] = 0;
  p += b.write(text, p, 'utf8');
  b[p++] = 0;
  b.writeInt16BE(0, p);
  return b;
}

/** Bind (unnamed portal, statement `name`, the rows' values in column order), then Execute and Sync. */
export function encodeInsertBind(name: string, rows: readonly MsgRowKey[], data: readonly Buffer[]): Buffer {
  let bytes = 0;
  for (const d of data) bytes += d.length;
  const nameLen = Buffer.byteLength(name);
  const b = Buffer.allocUnsafe(1 + 4 + 1 + nameLen + 1 + 2 + 2 + rows.length * ROW_FIXED + bytes + 4 + EXECUTE_SYNC.length);
  b[0] = 0x42; // 'B'
  let p = 5;
  b[p++] = 0; // the unnamed portal
  p += b.write(name, p, 'utf8');
  b[p++] = 0;
  const params = 5 * rows.length;
  b.writeInt16BE(params, p);
  p += 2;
  for (let i = 0; i < rows.length; i++) {
    b.writeInt16BE(0, p);
    b.writeInt16BE(0, p + 2);
    b.writeInt16BE(0, p + 4);
    b.writeInt16BE(0, p + 6);
    b.writeInt16BE(1, p + 8);
    p += 10;
  }
  b.writeInt16BE(params, p);
  p += 2;
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i];
    p = putText(b, p, m.channel_id);
    p = putText(b, p, m.seq);
    p = putText(b, p, m.ts);
    p = putText(b, p, m.size);
    const d = data[i];
    b.writeInt32BE(d.length, p);
    p += 4;
    b.set(d, p);
    p += d.length;
  }
  // Result formats: one code for every column, text (as pg writes it; an INSERT returns none).
  b.writeInt16BE(1, p);
  b.writeInt16BE(0, p + 2);
  p += 4;
  b.writeInt32BE(p - 1, 1);
  EXECUTE_SYNC.copy(b, p);
  return b.subarray(0, p + EXECUTE_SYNC.length);
}

/** A number parameter in text format: its length, then `String(v)` (what pg's prepareValue sent). */
function putText(b: Buffer, p: number, v: number): number {
  const n = b.write(String(v), p + 4, 'latin1');
  b.writeInt32BE(n, p);
  return p + 4 + n;
}

/** Runs the prepared INSERT `name` (`text`) of `rows` on `client` (pg's Client); resolves at ReadyForQuery. */
export function runPreparedInsert(client: unknown, name: string, text: string, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  const bind = encodeInsertBind(name, rows, data);
  return new Promise<void>((resolve, reject) => {
    (client as PgClient).query(new PreparedInsert(name, text, bind, (err) => (err === undefined ? resolve() : reject(err))));
  });
}
