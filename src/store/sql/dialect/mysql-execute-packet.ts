/**
 * MySQL/MariaDB: the COM_STMT_EXECUTE packet of a prepared multi-row message INSERT
 * (`insert into stan_messages (channel_id, seq, ts, size, data) values (?,?,?,?,?),…`),
 * written into one Buffer.
 *
 * Why our own: mysql2's `Execute.toPacket` makes an object per bound value (`toParameter`,
 * five per row) and writes through its Packet's checked writers; those were 3.8% + 2.7% of the
 * busy main thread in the profile of async publishing on MariaDB (docs/performance.md, "The
 * MariaDB message rows' COM_STMT_EXECUTE written by the store").
 *
 * The bytes are the ones mysql2 3.x sends for the same values (test/unit/mysql-execute-packet
 * compares them with mysql2's own encoder): channel_id, seq and size bound as DOUBLE (what
 * mysql2 does with a JS number), ts as its decimal text (VAR_STRING: see "Binding ts as a
 * number" in docs/performance.md), data as BLOB. No value is NULL (the bitmap is all zero).
 * The first 4 bytes are left for the packet header, which the connection writes (sequence id).
 */
import type { MsgRowKey } from './types';

const COM_STMT_EXECUTE = 0x17;
const TYPE_DOUBLE = 0x05;
const TYPE_VAR_STRING = 0xfd;
const TYPE_BLOB = 0xfc;
/** Cursor flag telling the server that the parameter count follows (query attributes). */
const PARAMETER_COUNT_AVAILABLE = 0x08;
const PARAMS_PER_ROW = 5;
/** Header, command, statement id, cursor flags, iteration count. */
const FIXED = 4 + 1 + 4 + 1 + 4;
/** The three DOUBLEs of a row. */
const ROW_NUMBERS = 3 * 8;

/** The parameter type bytes (type, unsigned flag) of one row, in column order. */
const ROW_TYPES = Buffer.from([TYPE_DOUBLE, 0, TYPE_DOUBLE, 0, TYPE_VAR_STRING, 0, TYPE_DOUBLE, 0, TYPE_BLOB, 0]);
/** The same with query attributes: every bind parameter is followed by an empty name. */
const ROW_TYPES_ATTRS = Buffer.from([TYPE_DOUBLE, 0, 0, TYPE_DOUBLE, 0, 0, TYPE_VAR_STRING, 0, 0, TYPE_DOUBLE, 0, 0, TYPE_BLOB, 0, 0]);

/**
 * Bytes of a length-encoded integer's prefix + value for `n`. The 2- and 3-byte forms are
 * used below 0xffff and 0xffffff, as mysql2 does (0xffff itself takes the 3-byte form: valid,
 * and the packet stays the one mysql2 sent).
 */
function lengthCodedSize(n: number): number {
  if (n < 0xfb) return 1;
  if (n < 0xffff) return 3;
  if (n < 0xffffff) return 4;
  return 9;
}

function putLengthCoded(buf: Buffer, v: DataView, p: number, n: number): number {
  if (n < 0xfb) {
    buf[p] = n;
    return p + 1;
  }
  if (n < 0xffff) {
    buf[p] = 0xfc;
    v.setUint16(p + 1, n, true);
    return p + 3;
  }
  if (n < 0xffffff) {
    buf[p] = 0xfd;
    v.setUint16(p + 1, n & 0xffff, true);
    buf[p + 3] = n >>> 16;
    return p + 4;
  }
  buf[p] = 0xfe;
  v.setUint32(p + 1, n >>> 0, true);
  v.setUint32(p + 5, Math.floor(n / 0x100000000), true);
  return p + 9;
}

/** The ts texts of the rows being encoded (reused: one batch is encoded at a time). */
const tsTexts: string[] = [];

/**
 * The packet (4 header bytes left for the connection) executing statement `stmtId` with the
 * `n` rows `rows[from..from+n)` / `data[from..from+n)`. `queryAttributes`: the connection
 * negotiated CLIENT_QUERY_ATTRIBUTES (MySQL 8.0.23+; MariaDB does not), which adds the
 * parameter count and an empty name per parameter.
 */
export function encodeExecuteRows(stmtId: number, rows: readonly MsgRowKey[], data: readonly Buffer[], from: number, n: number, queryAttributes: boolean): Buffer {
  const params = PARAMS_PER_ROW * n;
  const bitmap = (params + 7) >> 3;
  const types = queryAttributes ? ROW_TYPES_ATTRS : ROW_TYPES;
  let size = FIXED + (queryAttributes ? lengthCodedSize(params) : 0) + bitmap + 1 + types.length * n + ROW_NUMBERS * n;
  for (let k = 0; k < n; k++) {
    const ts = String(rows[from + k].ts);
    tsTexts[k] = ts;
    const len = data[from + k].length;
    size += lengthCodedSize(ts.length) + ts.length + lengthCodedSize(len) + len;
  }
  const buf = Buffer.allocUnsafe(size);
  const v = new DataView(buf.buffer, buf.byteOffset, size);
  buf[4] = COM_STMT_EXECUTE;
  v.setUint32(5, stmtId, true);
  buf[9] = queryAttributes ? PARAMETER_COUNT_AVAILABLE : 0;
  v.setUint32(10, 1, true); // iteration count
  let p = FIXED;
  if (queryAttributes) p = putLengthCoded(buf, v, p, params);
  buf.fill(0, p, p + bitmap); // no NULLs
  p += bitmap;
  buf[p++] = 1; // new-params-bound flag: the types follow
  buf.fill(types, p, p + types.length * n);
  p += types.length * n;
  for (let k = 0; k < n; k++) {
    const m = rows[from + k];
    v.setFloat64(p, m.channel_id, true);
    v.setFloat64(p + 8, m.seq, true);
    const ts = tsTexts[k];
    p = putLengthCoded(buf, v, p + 16, ts.length);
    p += buf.write(ts, p, 'latin1');
    v.setFloat64(p, m.size, true);
    const d = data[from + k];
    p = putLengthCoded(buf, v, p + 8, d.length);
    buf.set(d, p);
    p += d.length;
  }
  tsTexts.length = 0;
  if (p !== size) throw new Error(`COM_STMT_EXECUTE encoder wrote ${p} of ${size} bytes (a bug in mysql-execute-packet.ts)`);
  return buf;
}
