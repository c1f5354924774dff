/**
 * PostgreSQL: message rows written with `COPY stan_messages … FROM STDIN (FORMAT binary)` (the
 * import's bulk append, contract.ts BulkAppendStore), inside the caller's transaction.
 *
 * Why COPY: the `unnest` INSERT of the group commit sends every bytea as hex text inside an
 * array literal that the server parses again; COPY streams the rows as they are stored. Why
 * the binary format and a hand-built encoder instead of text COPY: binary needs no escaping
 * (bytea, NUL, newlines and backslashes travel as raw bytes behind a length), so encoding is a
 * few fixed-size writes and one copy per row; the text format would need bytea escaped as
 * `\\x…` hex (twice the bytes, and a loop over them in JavaScript). Measured on 1,000,000
 * 128-byte rows (this 2-core machine): see docs/design/import.md, "Speed".
 *
 * Why no library (pg-copy-streams): the COPY sub-protocol is three messages on the `pg`
 * connection (Query, then CopyData… CopyDone after CopyInResponse, then ReadyForQuery); a
 * "submittable" query object handed to pg's Client.query does it in ~40 lines and the whole
 * batch is already in memory, so a stream adds nothing.
 */
import type { Knex } from 'knex';
import type { BulkMessages } from '../../contract';
import { onConnection, trxConnection } from './connection';
import type { MsgRowKey } from './types';

/** The 11 bytes every COPY binary stream starts with (also read back by postgres-copy-out.ts). */
export const COPY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (int32 0), header extension length (int32 0). */
const HEADER_LEN = COPY_SIGNATURE.length + 8;
/** Per tuple: field count (int16), three int8 and one int4 with their lengths, bytea's length. */
const TUPLE_FIXED = 2 + 3 * (4 + 8) + (4 + 4) + 4;
/** A CopyData message's header: 'd' and the message's length (int32, itself included). */
const FRAME_HEADER = 5;
/** CopyDone: 'c' and its length 4. */
const COPY_DONE = Buffer.from([0x63, 0, 0, 0, 4]);
/** CopyData messages of at most about this many bytes. */
const CHUNK_BYTES = 1 << 20;
const TWO_32 = 4294967296;

export const COPY_MESSAGES_SQL = 'COPY stan_messages (channel_id, seq, ts, size, data) FROM STDIN (FORMAT binary)';

/**
 * The bytes a COPY FROM STDIN sends after its Query message, ready for the socket: the COPY
 * binary stream (header, tuples, trailer) in CopyData messages of about CHUNK_BYTES (whole
 * tuples; a larger tuple gets a message of its own size), then CopyDone at the end of the
 * last one. Columns: channel_id, seq, ts (int8), size (int4: the message's plaintext size, as
 * MsgStore.store records it), data (bytea: the row). Used by the import's bulk append (one
 * channel, BulkMessages) and the group commit (MsgRow[]).
 *
 * Why framed here and written with unchecked DataView stores: pg's serializer copied every
 * chunk once more into its own growing buffer (a new allocation per COPY) before the socket
 * write, and Buffer's checked write* calls (ten per row) were the encoder's largest cost in the
 * profile of async publishing; measured in docs/performance.md ("The COPY encoder and the
 * message rows' frames").
 */
export class CopyBinaryStream {
  private readonly frames: Buffer[] = [];
  private buf = Buffer.alloc(0);
  private view = new DataView(this.buf.buffer, 0, 0);
  private p = 0;
  /** Bytes of the stream no frame was allocated for yet (CopyDone included). */
  private left: number;

  /** `dataBytes`: the rows' data bytes added up (sizes the frames: no copy, little slack). */
  constructor(rowCount: number, dataBytes: number) {
    this.left = HEADER_LEN + rowCount * TUPLE_FIXED + dataBytes + 2 + COPY_DONE.length;
    this.reserve(HEADER_LEN);
    COPY_SIGNATURE.copy(this.buf, this.p);
    this.view.setInt32(this.p + COPY_SIGNATURE.length, 0);
    this.view.setInt32(this.p + COPY_SIGNATURE.length + 4, 0);
    this.p += HEADER_LEN;
  }

  /** Room for `n` more bytes in the current frame, or a new frame (at least `n`). */
  private reserve(n: number): void {
    if (this.p + n <= this.buf.length) return;
    this.seal();
    const size = FRAME_HEADER + Math.max(n, Math.min(CHUNK_BYTES, this.left));
    this.left -= size - FRAME_HEADER;
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, size);
    this.buf[0] = 0x64; // 'd'
    this.p = FRAME_HEADER;
  }

  /** Ends the current frame (its length written) when it holds anything. */
  private seal(): void {
    if (this.p <= FRAME_HEADER) return;
    this.view.setInt32(1, this.p - 1);
    this.frames.push(this.p === this.buf.length ? this.buf : this.buf.subarray(0, this.p));
  }

  /** One tuple; its data is `src[start, end)` (copied once, as is); `size`: the message's size column. */
  row(channelID: number, seq: number, ts: number, size: number, src: Buffer, start: number, end: number): void {
    const len = end - start;
    this.reserve(TUPLE_FIXED + len);
    const v = this.view;
    const p = this.p;
    v.setInt16(p, 5);
    v.setInt32(p + 2, 8);
    putInt8(v, p + 6, channelID);
    v.setInt32(p + 14, 8);
    putInt8(v, p + 18, seq);
    v.setInt32(p + 26, 8);
    putInt8(v, p + 30, ts);
    v.setInt32(p + 38, 4);
    v.setInt32(p + 42, size);
    v.setInt32(p + 46, len);
    if (start === 0 && end === src.length) this.buf.set(src, p + TUPLE_FIXED);
    else src.copy(this.buf, p + TUPLE_FIXED, start, end);
    this.p = p + TUPLE_FIXED + len;
  }

  /** The frames, the trailer and CopyDone written. */
  finish(): Buffer[] {
    this.reserve(2);
    this.view.setInt16(this.p, -1);
    this.p += 2;
    this.seal();
    if (this.p + COPY_DONE.length <= this.buf.length) {
      // The room sized for it in the last frame's allocation.
      COPY_DONE.copy(this.buf, this.p);
      this.frames[this.frames.length - 1] = this.buf.subarray(0, this.p + COPY_DONE.length);
    } else {
      this.frames.push(COPY_DONE);
    }
    return this.frames;
  }
}

/** A 64-bit integer column from a double holding an integer (|v| < 2^63). Also postgres-insert.ts's. */
export function putInt8(v: DataView, p: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  v.setInt32(p, hi);
  v.setUint32(p + 4, n - hi * TWO_32);
}

/** One channel's rows of the import's bulk append in COPY binary format (see CopyBinaryStream). */
export function encodeCopyBinary(channelID: number, rows: BulkMessages): Buffer[] {
  const s = new CopyBinaryStream(rows.count, rows.count === 0 ? 0 : rows.ends[rows.count - 1]);
  let start = 0;
  for (let r = 0; r < rows.count; r++) {
    const end = rows.ends[r];
    s.row(channelID, rows.seqs[r], rows.timestamps[r], end - start, rows.data, start, end);
    start = end;
  }
  return s.finish();
}

/** The parts of pg's Connection a COPY FROM STDIN uses: its socket. */
interface PgConnection {
  readonly stream: { readonly writable: boolean; write(b: Buffer): boolean; cork?(): void; uncork?(): void };
}

interface PgClient {
  query(q: CopyFromStdin): unknown;
}

/**
 * What pg's Client calls on a "submittable" query object (Client.query hands it the
 * connection in `submit` and then every backend message of the query), for a COPY: it settles
 * once, at ReadyForQuery or on the first error. Shared with COPY TO (postgres-copy-out.ts).
 */
export abstract class CopySubmittable {
  private settled = false;

  /** Called once: undefined when the COPY completed. */
  protected abstract settle(err: Error | undefined): void;

  private finish(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(err);
  }

  /** A server error (then ReadyForQuery follows) or a lost connection (nothing follows). */
  handleError(err: Error): void {
    this.finish(err);
  }

  handleReadyForQuery(): void {
    this.finish();
  }

  handleCopyInResponse(): void {}
  handleCopyData(_msg: { chunk: Buffer }): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
}

/**
 * A query object for pg's Client.query: runs `text` and sends `frames` right behind it,
 * without waiting for the server's CopyInResponse: one round trip per COPY instead of two.
 * Safe because a PostgreSQL backend that is not in copy-in mode (the COPY statement failed
 * before it started: no table, no privilege) ignores CopyData, CopyDone and CopyFail messages
 * (the protocol's COPY section says so, and the backend's main loop does it), and then
 * answers the query with ErrorResponse and ReadyForQuery as usual.
 */
class CopyFromStdin extends CopySubmittable {
  constructor(
    private readonly text: string,
    /** CopyBinaryStream.finish(): CopyData messages and CopyDone. */
    private readonly frames: readonly Buffer[],
    private readonly done: (err?: Error) => void,
  ) {
    super();
  }

  protected settle(err: Error | undefined): void {
    this.done(err);
  }

  submit(con: PgConnection): void {
    // Straight to the socket, in one write when the batch fits one frame (pg writes each
    // message on its own, and the socket has Nagle off: a sync publisher's row was three TCP
    // segments). A socket that is no longer writable is what pg's own writes skip too: the
    // connection's error then settles the query (handleError).
    const s = con.stream;
    if (!s.writable) return;
    s.cork?.();
    try {
      s.write(queryMessage(this.text));
      for (const f of this.frames) s.write(f);
    } finally {
      s.uncork?.();
    }
  }
}

let copyMessagesQuery: Buffer | undefined;

/** The COPY's Query message ('Q', length, the text, NUL); the group commit's is built once. */
function queryMessage(text: string): Buffer {
  if (text === COPY_MESSAGES_SQL && copyMessagesQuery !== undefined) return copyMessagesQuery;
  const len = Buffer.byteLength(text);
  const b = Buffer.allocUnsafe(1 + 4 + len + 1);
  b[0] = 0x51; // 'Q'
  b.writeInt32BE(4 + len + 1, 1);
  b.write(text, 5, 'utf8');
  b[5 + len] = 0;
  if (text === COPY_MESSAGES_SQL) copyMessagesQuery = b;
  return b;
}

/** Runs COPY FROM STDIN with `frames` (CopyBinaryStream.finish()) on the transaction's connection. */
export async function copyIn(trx: Knex.Transaction, text: string, frames: readonly Buffer[]): Promise<void> {
  await runCopy(await trxConnection<PgClient>(trx), text, frames);
}

function runCopy(client: PgClient, text: string, frames: readonly Buffer[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.query(new CopyFromStdin(text, frames, (err) => (err === undefined ? resolve() : reject(err))));
  });
}

export function copyMessages(trx: Knex.Transaction, channelID: number, rows: BulkMessages): Promise<void> {
  return copyIn(trx, COPY_MESSAGES_SQL, encodeCopyBinary(channelID, rows));
}

/** Group-commit rows (any channels) in COPY binary format; `data[i]` is row i's `data` column. */
export function encodeRowsCopyBinary(rows: readonly MsgRowKey[], data: readonly Buffer[]): Buffer[] {
  let bytes = 0;
  for (const d of data) bytes += d.length;
  const s = new CopyBinaryStream(rows.length, bytes);
  for (let i = 0; i < rows.length; i++) {
    const m = rows[i];
    const d = data[i];
    s.row(m.channel_id, m.seq, m.ts, m.size, d, 0, d.length);
  }
  return s.finish();
}

/**
 * The group commit's message rows (batch-writer.ts) by COPY: inside `trx`, or alone on a
 * pooled connection (autocommit: the COPY is its own transaction) when `trx` is undefined.
 */
export function copyMessageRows(knex: Knex, trx: Knex.Transaction | undefined, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  const chunks = encodeRowsCopyBinary(rows, data);
  return onConnection<PgClient, void>(knex, trx, (client) => runCopy(client, COPY_MESSAGES_SQL, chunks));
}

/** The same COPY on a raw connection (direct-tx.ts: inside its open transaction). */
export function copyMessageRowsOn(client: unknown, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  return runCopy(client as PgClient, COPY_MESSAGES_SQL, encodeRowsCopyBinary(rows, data));
}
