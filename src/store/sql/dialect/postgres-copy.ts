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
/** CopyData messages of at most this many bytes (pg copies each into its own frame). */
const CHUNK_BYTES = 1 << 20;
const TWO_32 = 4294967296;

export const COPY_MESSAGES_SQL = 'COPY stan_messages (channel_id, seq, ts, size, data) FROM STDIN (FORMAT binary)';

/** A 64-bit integer column from a double holding an integer (|v| < 2^63). */
function putInt8(buf: Buffer, p: number, v: number): number {
  const hi = Math.floor(v / TWO_32);
  buf.writeInt32BE(hi, p);
  buf.writeUInt32BE(v - hi * TWO_32, p + 4);
  return p + 8;
}

/**
 * A COPY binary stream built row by row, in chunks of about CHUNK_BYTES (whole tuples; the
 * first carries the header, the last the trailer). Columns: channel_id, seq, ts (int8), size
 * (int4: the message's plaintext size, as MsgStore.store records it), data (bytea: the row). Used by the
 * import's bulk append (one channel, BulkMessages) and the group commit (MsgRow[]).
 */
export class CopyBinaryStream {
  private readonly chunks: Buffer[] = [];
  private buf = Buffer.alloc(0);
  private p = 0;
  /** Bytes of the stream no chunk was allocated for yet. */
  private left: number;

  /** `dataBytes`: the rows' data bytes added up (sizes the chunks: no copy, little slack). */
  constructor(rowCount: number, dataBytes: number) {
    this.left = HEADER_LEN + rowCount * TUPLE_FIXED + dataBytes + 2;
    this.reserve(HEADER_LEN);
    COPY_SIGNATURE.copy(this.buf, 0);
    this.buf.writeInt32BE(0, COPY_SIGNATURE.length);
    this.buf.writeInt32BE(0, COPY_SIGNATURE.length + 4);
    this.p = HEADER_LEN;
  }

  /** Room for `n` more bytes in the current chunk, or a new chunk (at least `n`). */
  private reserve(n: number): void {
    if (this.p + n <= this.buf.length) return;
    if (this.p > 0) this.chunks.push(this.p === this.buf.length ? this.buf : this.buf.subarray(0, this.p));
    const size = Math.max(n, Math.min(CHUNK_BYTES, this.left));
    this.left -= size;
    this.buf = Buffer.allocUnsafe(size);
    this.p = 0;
  }

  /** One tuple; its data is `src[start, end)` (copied once, as is); `size`: the message's size column. */
  row(channelID: number, seq: number, ts: number, size: number, src: Buffer, start: number, end: number): void {
    const len = end - start;
    this.reserve(TUPLE_FIXED + len);
    const buf = this.buf;
    let p = this.p;
    buf.writeInt16BE(5, p);
    buf.writeInt32BE(8, p + 2);
    p = putInt8(buf, p + 6, channelID);
    buf.writeInt32BE(8, p);
    p = putInt8(buf, p + 4, seq);
    buf.writeInt32BE(8, p);
    p = putInt8(buf, p + 4, ts);
    buf.writeInt32BE(4, p);
    buf.writeInt32BE(size, p + 4);
    buf.writeInt32BE(len, p + 8);
    p += 12;
    src.copy(buf, p, start, end);
    this.p = p + len;
  }

  /** The stream's chunks, the trailer written. */
  finish(): Buffer[] {
    this.reserve(2);
    this.buf.writeInt16BE(-1, this.p);
    this.p += 2;
    this.chunks.push(this.buf.subarray(0, this.p));
    return this.chunks;
  }
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

/** The parts of pg's Connection a COPY FROM STDIN uses. */
interface PgConnection {
  readonly stream: { cork?(): void; uncork?(): void };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
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
 * A query object for pg's Client.query: runs `text` and sends `chunks` right behind it,
 * without waiting for the server's CopyInResponse: one round trip per COPY instead of two.
 * Safe because a PostgreSQL backend that is not in copy-in mode (the COPY statement failed
 * before it started: no table, no privilege) ignores CopyData, CopyDone and CopyFail messages
 * (the protocol's COPY section says so, and the backend's main loop does it), and then
 * answers the query with ErrorResponse and ReadyForQuery as usual.
 */
class CopyFromStdin extends CopySubmittable {
  constructor(
    private readonly text: string,
    private readonly chunks: readonly Buffer[],
    private readonly done: (err?: Error) => void,
  ) {
    super();
  }

  protected settle(err: Error | undefined): void {
    this.done(err);
  }

  submit(con: PgConnection): void {
    // One socket write for the query, its data and CopyDone (pg writes each message on its
    // own, and the socket has Nagle off: a sync publisher's row was three TCP segments).
    con.stream.cork?.();
    try {
      con.query(this.text);
      for (const c of this.chunks) con.sendCopyFromChunk(c);
      con.endCopyFrom();
    } finally {
      con.stream.uncork?.();
    }
  }
}

/** Runs COPY FROM STDIN with `chunks` on the transaction's connection. */
export async function copyIn(trx: Knex.Transaction, text: string, chunks: readonly Buffer[]): Promise<void> {
  await runCopy(await trxConnection<PgClient>(trx), text, chunks);
}

function runCopy(client: PgClient, text: string, chunks: readonly Buffer[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.query(new CopyFromStdin(text, chunks, (err) => (err === undefined ? resolve() : reject(err))));
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
