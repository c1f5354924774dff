/**
 * One group commit of the FILE store (SQLite) as plain data, and the synchronous transaction
 * that writes it on a better-sqlite3 connection. The main thread packs a batch
 * (`packSqliteBatch`: every message row and event body *copied* into a few typed arrays, so
 * the plan owns its bytes and its buffers can be transferred to the write thread: message
 * bytes otherwise lie in a shared MsgRing chunk or the hot cache, reused after the
 * commit); the write thread (sqlite-write-worker.ts) runs `runSqliteBatch` on its own
 * connection with prepared statements kept for its lifetime.
 *
 * The statements and their order are those of batch-writer.ts's Knex transaction: the FT
 * fence first, the stan_server row, the event rows (their IDs give the log's order), the
 * retention and channel deletes, the message rows.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { encodeEvent } from '../events/event-codec';
import type { StoreEvent } from '../events/events';
import type { MsgRow } from './pending-batch';
import { rowData } from './sealing';

/** The FT fence as one statement (`?` placeholders) that must change exactly one row. */
export interface FenceStatement {
  sql: string;
  bindings: Array<string | number>;
}

/** Columns of many rows: numbers in Float64Arrays (ns timestamps lose what a JS number loses anyway). */
interface PackedRows {
  /** Row i's bytes are bytes[ends[i-1] .. ends[i]). */
  bytes: Uint8Array;
  ends: Uint32Array;
}

export interface SqliteBatchPlan {
  fence?: FenceStatement;
  serverRow?: { clusterID: string; createdAt: number };
  /** kind, channel ID (NaN: none) and body of each event row, in log order. */
  events: PackedRows & { kinds: Int32Array; channels: Float64Array };
  msgs: PackedRows & { channels: Float64Array; seqs: Float64Array; ts: Float64Array; sizes: Int32Array };
  /** channel ID, first sequence kept: rows below are deleted. */
  deletes: Array<[number, number]>;
  /** Channels whose rows are all deleted. */
  dropChannels: number[];
  /** A retried batch: rows already stored are skipped (see Pending.retry). */
  skipExisting: boolean;
}

/** What a batch needs besides its rows (computed by batch-writer.ts). */
export interface SqliteBatchExtras {
  fence?: FenceStatement;
  serverRow?: { clusterID: string; createdAt: number };
  deletes?: ReadonlyMap<number, number>;
  dropChannels: readonly number[];
  skipExisting: boolean;
  encrypting: boolean;
}

/**
 * The batch as a plan that owns all its bytes (see the module comment). Everything numeric and
 * every byte lives in **one** ArrayBuffer, not zero-filled (every byte of it is written here),
 * so the hand-over transfers one buffer: with ten (one per array) a `postMessage` of a plan
 * cost 32–52 µs of CPU against 19–31 µs with one (240 rows, 20,000 posts, 3 alternated runs;
 * docs/performance.md "FILE, round 3"). Layout: the Float64 columns first (8-byte aligned at
 * offset 0), then the 32-bit ones, then the event bodies and the message rows' bytes.
 */
export function packSqliteBatch(events: readonly StoreEvent[], rows: readonly MsgRow[], x: SqliteBatchExtras): SqliteBatchPlan {
  const nEv = events.length;
  const n = rows.length;
  const bodies = new Array<Uint8Array>(nEv);
  let evTotal = 0;
  for (let i = 0; i < nEv; i++) {
    bodies[i] = encodeEvent(events[i]);
    evTotal += bodies[i].byteLength;
  }
  let msgTotal = 0;
  // rowData throws on a row not sealed yet: nothing is ever written unsealed.
  for (let i = 0; i < n; i++) msgTotal += x.encrypting ? rowData(rows[i], true).byteLength : (rows[i].data?.byteLength ?? rows[i].size);
  const numbers = 8 * (nEv + 3 * n) + 4 * (2 * nEv + 2 * n);
  const buf = Buffer.allocUnsafeSlow(numbers + evTotal + msgTotal).buffer as ArrayBuffer;
  let at = 0;
  const take = <T>(make: (b: ArrayBuffer, offset: number, length: number) => T, length: number, width: number): T => {
    const a = make(buf, at, length);
    at += length * width;
    return a;
  };
  const f64 = (b: ArrayBuffer, o: number, l: number): Float64Array => new Float64Array(b, o, l);
  const evChannels = take(f64, nEv, 8);
  const channels = take(f64, n, 8);
  const seqs = take(f64, n, 8);
  const ts = take(f64, n, 8);
  const evEnds = take((b, o, l) => new Uint32Array(b, o, l), nEv, 4);
  const kinds = take((b, o, l) => new Int32Array(b, o, l), nEv, 4);
  const msgEnds = take((b, o, l) => new Uint32Array(b, o, l), n, 4);
  // The message's size, not the row's (a sealed row is longer).
  const sizes = take((b, o, l) => new Int32Array(b, o, l), n, 4);
  const evBytes = take((b, o, l) => new Uint8Array(b, o, l), evTotal, 1);
  const msgBytes = take((b, o, l) => new Uint8Array(b, o, l), msgTotal, 1);
  let end = 0;
  for (let i = 0; i < nEv; i++) {
    const e = events[i];
    kinds[i] = e.kind;
    evChannels[i] = 'channelID' in e ? e.channelID : NaN;
    evBytes.set(bodies[i], end);
    end += bodies[i].byteLength;
    evEnds[i] = end;
  }
  // Plaintext rows are copied from the cache chunks they refer to, one copy per run of rows
  // that lie back to back in one chunk (consecutive messages of a channel): no view per row.
  const run = { src: undefined as Uint8Array | undefined, from: 0, to: 0, dest: 0 };
  end = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    channels[i] = r.channel_id;
    seqs[i] = r.seq;
    ts[i] = r.ts;
    sizes[i] = r.size;
    const d = x.encrypting || r.data !== null ? rowData(r, x.encrypting) : undefined;
    if (d !== undefined) {
      msgBytes.set(d, end);
      end += d.byteLength;
    } else if (r.src === run.src && r.at === run.to && run.dest + (run.to - run.from) === end) {
      run.to += r.size;
      end += r.size;
    } else {
      copyRun(msgBytes, run);
      run.src = r.src;
      run.from = r.at;
      run.to = r.at + r.size;
      run.dest = end;
      end += r.size;
    }
    msgEnds[i] = end;
  }
  copyRun(msgBytes, run);
  return {
    fence: x.fence,
    serverRow: x.serverRow,
    events: { bytes: evBytes, ends: evEnds, kinds, channels: evChannels },
    msgs: { bytes: msgBytes, ends: msgEnds, channels, seqs, ts, sizes },
    deletes: x.deletes === undefined ? [] : [...x.deletes],
    dropChannels: [...x.dropChannels],
    skipExisting: x.skipExisting,
  };
}

/** Copies a run of rows' bytes (src[from, to)) to `dest` in `out`. */
function copyRun(out: Uint8Array, run: { src: Uint8Array | undefined; from: number; to: number; dest: number }): void {
  if (run.src !== undefined && run.to > run.from) out.set(new Uint8Array(run.src.buffer, run.src.byteOffset + run.from, run.to - run.from), run.dest);
}

/** The buffer of a plan, to transfer to the write thread (the plan is unusable here after). */
export function planBuffers(p: SqliteBatchPlan): ArrayBuffer[] {
  // Every array of the plan is a view of the one buffer packSqliteBatch allocated.
  return [p.msgs.seqs.buffer as ArrayBuffer];
}

// ------------------------------------------------------------ the write side

type Statement = BetterSqlite3.Statement<unknown[]>;

/** Thrown inside the transaction when the fence changed no row: rolled back, reported as 'fence-lost'. */
class FenceLost extends Error {}

const INSERT_MSG = 'insert into stan_messages (channel_id, seq, ts, size, data) values (?, ?, ?, ?, ?)';
/** Rows per multi-row INSERT (see insertMessages). */
const MULTI_ROWS = 32;
const INSERT_MSGS = `insert into stan_messages (channel_id, seq, ts, size, data) values ${new Array<string>(MULTI_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`;

/** Prepared statements of one connection, prepared on first use and kept. */
export class SqliteBatchRunner {
  private readonly stmts = new Map<string, Statement>();
  private readonly tx: { immediate(plans: readonly SqliteBatchPlan[]): void };

  constructor(private readonly db: BetterSqlite3.Database) {
    this.tx = db.transaction((plans: readonly SqliteBatchPlan[]) => {
      for (const p of plans) this.writeAll(p);
    });
  }

  private stmt(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (s === undefined) {
      s = this.db.prepare<unknown[]>(sql);
      // Fence statements differ by epoch only: a handful over a process's life.
      if (this.stmts.size > 64) this.stmts.clear();
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** Writes the plan in one IMMEDIATE transaction; 'fence-lost' when the fence changed no row (nothing written). */
  run(p: SqliteBatchPlan): 'ok' | 'fence-lost' {
    return this.runAll([p]);
  }

  /** Writes the plans, in order, in one IMMEDIATE transaction (each with its statements as in `run`). */
  runAll(plans: readonly SqliteBatchPlan[]): 'ok' | 'fence-lost' {
    try {
      this.tx.immediate(plans);
      return 'ok';
    } catch (err) {
      if (err instanceof FenceLost) return 'fence-lost';
      throw err;
    }
  }

  private writeAll(p: SqliteBatchPlan): void {
    if (p.fence !== undefined && this.stmt(p.fence.sql).run(...p.fence.bindings).changes !== 1) throw new FenceLost();
    if (p.serverRow !== undefined) {
      this.stmt('insert into stan_server (id, cluster_id, created_at) values (1, ?, ?) on conflict (id) do nothing').run(p.serverRow.clusterID, p.serverRow.createdAt);
    }
    const ev = p.events;
    const insEvent = ev.kinds.length > 0 ? this.stmt('insert into stan_events (kind, channel_id, body) values (?, ?, ?)') : undefined;
    eachRow(ev, (i, body) => insEvent?.run(ev.kinds[i], Number.isNaN(ev.channels[i]) ? null : ev.channels[i], body));
    for (const [channelID, firstSeq] of p.deletes) this.stmt('delete from stan_messages where channel_id = ? and seq < ?').run(channelID, firstSeq);
    for (const channelID of p.dropChannels) this.stmt('delete from stan_messages where channel_id = ?').run(channelID);
    this.insertMessages(p.msgs, p.skipExisting ? ' on conflict (channel_id, seq) do nothing' : '');
  }

  /**
   * MULTI_ROWS rows per statement run, the rest one by one: a run's fixed cost (the call into
   * the driver, the statement reset) is paid once per MULTI_ROWS rows.
   */
  private insertMessages(m: SqliteBatchPlan['msgs'], suffix: string): void {
    const n = m.seqs.length;
    if (n === 0) return;
    const one = this.stmt(INSERT_MSG + suffix);
    const many = n >= MULTI_ROWS ? this.stmt(INSERT_MSGS + suffix) : undefined;
    const params = new Array<number | Buffer>(MULTI_ROWS * 5);
    let k = 0;
    eachRow(m, (i, data) => {
      if (many === undefined || i >= n - (n % MULTI_ROWS)) {
        one.run(m.channels[i], m.seqs[i], m.ts[i], m.sizes[i], data);
        return;
      }
      params[k++] = m.channels[i];
      params[k++] = m.seqs[i];
      params[k++] = m.ts[i];
      params[k++] = m.sizes[i];
      params[k++] = data;
      if (k === params.length) {
        many.run(...params);
        k = 0;
      }
    });
  }
}

/** Calls `fn` with each row's bytes (a Buffer view of the plan's buffer, no copy). */
function eachRow(rows: PackedRows, fn: (i: number, bytes: Buffer) => void): void {
  const all = Buffer.from(rows.bytes.buffer, rows.bytes.byteOffset, rows.bytes.byteLength);
  let start = 0;
  for (let i = 0; i < rows.ends.length; i++) {
    fn(i, all.subarray(start, rows.ends[i]));
    start = rows.ends[i];
  }
}
