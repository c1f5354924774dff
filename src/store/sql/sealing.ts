/**
 * Encryption at rest for the SQL store's message rows: rows recorded during one event-loop
 * turn are handed to the sealing worker (src/store/seal-pool.ts) at its end, so they are
 * sealed while the main thread goes on; a batch about to be written waits for its rows (or
 * seals a few inline). Never lets a plaintext row through when encrypting (rowData).
 */
import type { PayloadCipher } from '../crypto';
import { RECORD_MAGIC, rowContext } from '../crypto';
import { SealPool, type SealPoolOptions } from '../seal-pool';
import type { MsgRow } from './pending-batch';

/**
 * Encrypting: batches of at most this many unsealed rows are sealed inline on the main thread
 * instead of by the worker (src/store/seal-pool.ts), whose round trip costs more than a few
 * inline seals. Measured on the 2-core machine, FILE store, stan-bench 128 B, --encrypt
 * (docs/encryption.md, "Performance"): sync publish (1 row per batch) 1.2k msgs/s through
 * the worker vs 1.35-1.5k inline (a worker round trip adds ~100-150 µs of latency under
 * load); async publish (~190 rows per batch) 37-38k with a threshold of 1, 39-42k with 4,
 * 40-42k with 16, 33-40k with 64; pub+sub best with 16 (30-32k). Noisy; 16 chosen.
 */
export const SEAL_INLINE_MAX_ROWS = 16;

/**
 * The bytes a row is written with. When encrypting, only a sealed record passes (checked by
 * its magic byte): a plaintext can never reach an encrypting store's table. Otherwise the
 * row's plaintext (a view made here, not when the message was stored).
 */
export function rowData(m: MsgRow, encrypting: boolean): Buffer {
  const d = m.data;
  if (!encrypting) return d ?? rowPlain(m);
  if (d === null || d[0] !== RECORD_MAGIC) throw new Error(`internal: message ${m.seq} of channel ${m.channel_id} is not sealed`);
  return d;
}

/** A row's marshalled MsgProto (a view of the bytes it refers to). */
export function rowPlain(m: MsgRow): Buffer {
  return m.src.subarray(m.at, m.at + m.size);
}

export class RowSealer {
  /** Sealing worker thread(s), when encrypting. */
  readonly pool: SealPool | undefined;
  /**
   * Encrypting: rows recorded during this event-loop turn, handed to the sealing worker at
   * its end (dispatch), so that they are sealed while the main thread goes on (parsing
   * the next publishes, writing the previous batch) and are usually sealed by the time their
   * batch is written.
   */
  private toSeal: MsgRow[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly cipher: PayloadCipher | undefined,
    poolOptions?: SealPoolOptions,
  ) {
    this.pool = cipher?.encrypting ? new SealPool(cipher, poolOptions) : undefined;
  }

  /** Starts the worker now (a failure is a startup error) instead of on the first batch. */
  async start(): Promise<void> {
    await this.pool?.start();
  }

  /** A row recorded unsealed: sealed by the worker at the end of this turn when many follow. */
  queue(row: MsgRow): void {
    if (this.pool === undefined) return;
    this.toSeal.push(row);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const rows = this.toSeal;
      this.toSeal = [];
      // A few rows (e.g. a sync publisher's one) are cheaper to seal inline at commit time.
      if (rows.length > SEAL_INLINE_MAX_ROWS && !this.closed) this.dispatch(rows.filter((r) => r.data === null && r.sealing === undefined));
    });
  }

  /**
   * Sends rows to the sealing worker; the promise (also set on each row as `sealing`) settles
   * when their `data` is set, or rejects, leaving them unsealed for the next attempt.
   */
  private dispatch(rows: MsgRow[]): Promise<void> {
    const pool = this.pool;
    if (pool === undefined || rows.length === 0) return Promise.resolve();
    const p = pool.seal(rows.map((r) => ({ channelID: r.channel_id, seq: r.seq, plain: rowPlain(r) }))).then(
      (sealed) => {
        for (let i = 0; i < rows.length; i++) {
          rows[i].data = sealed[i];
          rows[i].sealing = undefined;
        }
      },
      (err: unknown) => {
        for (const r of rows) r.sealing = undefined;
        throw err;
      },
    );
    // Handled when the rows' batch awaits it (sealAll); a row dropped by limits never is.
    p.catch(() => undefined);
    for (const r of rows) r.sealing = p;
    return p;
  }

  /**
   * Makes sure every row of a batch is sealed before it is written: waits for the rows the
   * worker is sealing, seals the others (inline when they are few, else by the worker). Any
   * failure (worker died, errored) rejects: the batch fails like a failed commit, its rows
   * stay unsealed and are sealed again when it is retried. Never writes plaintext: rowData
   * refuses an unsealed row.
   */
  async sealAll(rows: MsgRow[]): Promise<void> {
    const cipher = this.cipher;
    const waits = new Set<Promise<void>>();
    let todo: MsgRow[] | undefined;
    for (const r of rows) {
      if (r.data !== null) continue;
      if (r.sealing !== undefined) waits.add(r.sealing);
      else (todo ??= []).push(r);
    }
    if (todo !== undefined) {
      if (cipher === undefined || !cipher.encrypting) throw new Error('internal: a message row awaits sealing but no cipher encrypts');
      if (this.pool === undefined || todo.length <= SEAL_INLINE_MAX_ROWS) {
        for (const r of todo) r.data = cipher.seal(rowPlain(r), rowContext(r.channel_id, r.seq));
      } else {
        waits.add(this.dispatch(todo));
      }
    }
    if (waits.size > 0) await Promise.all(waits);
  }

  /** Marks the store closed (no more dispatches), then stops the worker. */
  markClosed(): void {
    this.closed = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
  }
}
