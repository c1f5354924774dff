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

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (int32 0), header extension length (int32 0). */
const HEADER_LEN = SIGNATURE.length + 8;
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
 * The rows in COPY binary format, in chunks of about CHUNK_BYTES (whole tuples; the first
 * carries the header, the last the trailer). Columns: channel_id, seq, ts (int8), size (int4:
 * the row's length, as MsgStore.store records it), data (bytea: the row).
 */
export function encodeCopyBinary(channelID: number, rows: BulkMessages): Buffer[] {
  const out: Buffer[] = [];
  let buf = Buffer.allocUnsafe(HEADER_LEN);
  SIGNATURE.copy(buf, 0);
  buf.writeInt32BE(0, SIGNATURE.length);
  buf.writeInt32BE(0, SIGNATURE.length + 4);
  out.push(buf);
  let i = 0;
  while (i < rows.count) {
    // Rows for this chunk: at least one, however large.
    const from = i;
    const startByte = i === 0 ? 0 : rows.ends[i - 1];
    let size = 0;
    while (i < rows.count && (i === from || size + TUPLE_FIXED + (rows.ends[i] - (i === 0 ? 0 : rows.ends[i - 1])) <= CHUNK_BYTES)) {
      size += TUPLE_FIXED + rows.ends[i] - (i === 0 ? 0 : rows.ends[i - 1]);
      i++;
    }
    buf = Buffer.allocUnsafe(size);
    let p = 0;
    let start = startByte;
    for (let r = from; r < i; r++) {
      const end = rows.ends[r];
      const len = end - start;
      buf.writeInt16BE(5, p);
      buf.writeInt32BE(8, p + 2);
      p = putInt8(buf, p + 6, channelID);
      buf.writeInt32BE(8, p);
      p = putInt8(buf, p + 4, rows.seqs[r]);
      buf.writeInt32BE(8, p);
      p = putInt8(buf, p + 4, rows.timestamps[r]);
      buf.writeInt32BE(4, p);
      buf.writeInt32BE(len, p + 4);
      buf.writeInt32BE(len, p + 8);
      p += 12;
      rows.data.copy(buf, p, start, end);
      p += len;
      start = end;
    }
    out.push(buf);
  }
  const trailer = Buffer.allocUnsafe(2);
  trailer.writeInt16BE(-1, 0);
  out.push(trailer);
  return out;
}

/** The parts of pg's Connection a COPY FROM STDIN uses. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

interface PgClient {
  query(q: CopyFromStdin): unknown;
}

/** A query object for pg's Client.query: runs `text` and answers its CopyInResponse with `chunks`. */
class CopyFromStdin {
  private settled = false;

  constructor(
    private readonly text: string,
    private readonly chunks: readonly Buffer[],
    private readonly done: (err?: Error) => void,
  ) {}

  private finish(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.done(err);
  }

  submit(con: PgConnection): void {
    con.query(this.text);
  }

  handleCopyInResponse(con: PgConnection): void {
    for (const c of this.chunks) con.sendCopyFromChunk(c);
    con.endCopyFrom();
  }

  /** A server error (then ReadyForQuery follows) or a lost connection (nothing follows). */
  handleError(err: Error): void {
    this.finish(err);
  }

  handleReadyForQuery(): void {
    this.finish();
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

/** Runs COPY FROM STDIN with `chunks` on the transaction's connection. */
export async function copyIn(trx: Knex.Transaction, text: string, chunks: readonly Buffer[]): Promise<void> {
  // Inside a transaction Knex hands out the transaction's own connection (a pg Client).
  const client = (await (trx.client as { acquireConnection(): Promise<unknown> }).acquireConnection()) as PgClient;
  await new Promise<void>((resolve, reject) => {
    client.query(new CopyFromStdin(text, chunks, (err) => (err === undefined ? resolve() : reject(err))));
  });
}

export function copyMessages(trx: Knex.Transaction, channelID: number, rows: BulkMessages): Promise<void> {
  return copyIn(trx, COPY_MESSAGES_SQL, encodeCopyBinary(channelID, rows));
}
