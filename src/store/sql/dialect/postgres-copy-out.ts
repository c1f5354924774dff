/**
 * PostgreSQL: the newest snapshot read with `COPY (SELECT …) TO STDOUT (FORMAT binary)` on a
 * reader connection, instead of a SELECT.
 *
 * Why: node-postgres reads every result field as text, so a SELECT brings the bytea body as a
 * hex string twice its size (~9.4 MB for 60,000 subscriptions), which the driver decodes as
 * UTF-8 into one JavaScript string and then back into bytes: its receive buffer copies, the
 * string and the hex decode were ~40 ms of a 60,000-durable restart's profile, and PostgreSQL
 * spends its own CPU on the hex encoding. COPY's binary format sends the stored bytes behind a
 * length. `pg` has no API for COPY TO, but its Client takes a "submittable" query object
 * (as postgres-copy.ts does for COPY FROM): the CopyData messages come to `handleCopyData`.
 */
import { COPY_SIGNATURE, CopySubmittable } from './postgres-copy';

/** The newest snapshot's row: the last event ID it covers and its body; undefined when there is none. */
export type SnapshotRead = () => Promise<{ lastEventID: number; body: Buffer } | undefined>;

export const SNAPSHOT_COPY_SQL = 'COPY (SELECT last_event_id, body FROM stan_snapshots ORDER BY snapshot_id DESC LIMIT 1) TO STDOUT (FORMAT binary)';

const TWO_32 = 4294967296;

interface PgConnection {
  query(text: string): void;
}

/** The query object pg's Client.query runs: sends `text`, keeps the CopyData payloads. */
class CopyToStdout extends CopySubmittable {
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly text: string,
    private readonly done: (err: Error | undefined, data: Buffer) => void,
  ) {
    super();
  }

  protected settle(err: Error | undefined): void {
    this.done(err, err === undefined ? Buffer.concat(this.chunks) : Buffer.alloc(0));
  }

  submit(con: PgConnection): void {
    con.query(this.text);
  }

  override handleCopyData(msg: { chunk: Buffer }): void {
    // A copy: the chunk is a view of the driver's receive buffer, which later messages reuse.
    this.chunks.push(Buffer.from(msg.chunk));
  }
}

interface PgPoolClient {
  query(q: CopyToStdout): unknown;
  release(err?: Error): void;
}

interface PgPool {
  connect(): Promise<PgPoolClient>;
}

/** Runs COPY … TO STDOUT on a connection of `pool` and answers the whole stream. */
export async function copyOut(pool: PgPool, text: string): Promise<Buffer> {
  const client = await pool.connect();
  try {
    const data = await new Promise<Buffer>((resolve, reject) => {
      client.query(new CopyToStdout(text, (err, out) => (err === undefined ? resolve(out) : reject(err))));
    });
    client.release();
    return data;
  } catch (err) {
    // A connection that failed mid-stream is not given back for reuse.
    client.release(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

function corrupt(what: string): Error {
  return new Error(`snapshot read from PostgreSQL (COPY binary) is malformed: ${what}`);
}

/**
 * The row of SNAPSHOT_COPY_SQL from its COPY binary stream (signature, flags, header
 * extension, then per tuple a field count and each field's length and bytes; -1 ends it).
 * The body is a view of `data`. Exported for its unit test.
 */
export function parseSnapshotCopy(data: Buffer): { lastEventID: number; body: Buffer } | undefined {
  const sig = COPY_SIGNATURE.length;
  if (data.length < sig + 10 || !data.subarray(0, sig).equals(COPY_SIGNATURE)) throw corrupt('no COPY binary header');
  let p = sig + 4;
  p += 4 + data.readUInt32BE(p);
  if (p + 2 > data.length) throw corrupt('cut short in the header');
  const fields = data.readInt16BE(p);
  p += 2;
  if (fields === -1) return undefined;
  if (fields !== 2 || p + 16 > data.length) throw corrupt(`a row of ${fields} field(s), expected 2`);
  if (data.readInt32BE(p) !== 8) throw corrupt('last_event_id is not an int8');
  const lastEventID = data.readInt32BE(p + 4) * TWO_32 + data.readUInt32BE(p + 8);
  p += 12;
  const len = data.readInt32BE(p);
  p += 4;
  if (len < 0 || p + len + 2 > data.length) throw corrupt('the body is null or cut short');
  const body = data.subarray(p, p + len);
  if (data.readInt16BE(p + len) !== -1) throw corrupt('more than one row');
  return { lastEventID, body };
}

/** The newest snapshot through COPY binary on the reader pool. */
export function pgSnapshotRead(pool: PgPool): SnapshotRead {
  return async () => parseSnapshotCopy(await copyOut(pool, SNAPSHOT_COPY_SQL));
}
