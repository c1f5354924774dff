/**
 * One writer connection kept between the group commit's writes instead of being given back to
 * Knex's pool after each one (dialect/connection.ts onConnection).
 *
 * Why: a sync publisher's commit is one autocommitted statement, and taking a connection from
 * Knex's pool and giving it back cost more than our own code around it: tarn's acquire makes a
 * PendingOperation with a timeout (a setTimeout and a clearTimeout per commit), runs Knex's
 * asynchronous validate, and settles several promises; Knex's acquire and release log through
 * `debug`. Measured: docs/performance.md ("Sync publishing, round 3").
 *
 * The connection stays Knex's: taken from its pool and given back to it. It is given back
 * - at once when anyone else asks Knex's pool for a connection (tarn's `acquireRequest`, which
 *   runs before the pool looks for a free one: the asker gets this one, nobody waits for it);
 * - instead of being kept, when someone is waiting in the pool's queue as the write ends (they
 *   asked while it was in use and the pool was full: the event found nothing to give back;
 *   kept, the next commit would take it again ahead of them, for as long as commits follow);
 * - when the store closes (before Knex's pool is destroyed, which waits for used connections);
 * - after IDLE_RELEASE_MS without a write (as the pool closes an idle connection: Knex's
 *   idleTimeoutMillis is the same 30 s);
 * - instead of being kept, when the write on it failed or Knex marked it disposed (its socket
 *   failed): the pool's validate then decides, as for any connection given back. Before it
 *   is used again it gets the checks Knex's pool makes on acquire (disposed, the dialect's
 *   validateConnection).
 * A pool without tarn's events (an external pg.Pool: multi-host sources) is used as before.
 */
import type { Knex } from 'knex';

/** Knex's connection API (not in its public types). */
interface ConnectionSource {
  acquireConnection(): Promise<unknown>;
  releaseConnection(conn: unknown): Promise<unknown>;
  /** The dialect's check of a pooled connection (MySQL: still connected); Knex's pool runs it on acquire. */
  validateConnection?(conn: unknown): unknown;
  pool?: { on?(event: string, listener: () => void): void; numPendingAcquires?(): number };
}

/** Knex marks a connection it must not hand out again this way. */
interface DisposableConnection {
  __knex__disposed?: unknown;
}

/** A connection unused this long goes back to the pool (Knex's pool closes idle ones after 30 s). */
export const IDLE_RELEASE_MS = 30_000;

export class HeldConnection {
  private idle: unknown;
  private usedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** False when the pool has no `acquireRequest` event: nothing is held then. */
  private readonly holds: boolean;

  constructor(
    private readonly source: ConnectionSource,
    private readonly now: () => number = Date.now,
  ) {
    const pool = source.pool;
    this.holds = typeof pool?.on === 'function';
    if (this.holds) pool?.on?.('acquireRequest', () => this.giveBack());
  }

  /** The held connection when there is a usable one, else one from the pool. */
  acquire(): Promise<unknown> {
    const c = this.idle;
    if (c !== undefined) {
      this.idle = undefined;
      if (this.usable(c)) return Promise.resolve(c);
      void this.source.releaseConnection(c);
    }
    return this.source.acquireConnection();
  }

  /** `failed`: the work on it threw (its state is the pool's validate's to judge). */
  release(conn: unknown, failed: boolean): void {
    if (!this.holds || this.closed || failed || this.idle !== undefined || this.othersWaiting() || !this.usable(conn)) {
      void this.source.releaseConnection(conn);
      return;
    }
    this.idle = conn;
    this.usedAt = this.now();
    this.timer ??= setTimeout(this.onIdleCheck, IDLE_RELEASE_MS).unref();
  }

  private othersWaiting(): boolean {
    const n = this.source.pool?.numPendingAcquires?.();
    return n !== undefined && n > 0;
  }

  /** Gives the held connection back and holds none from now on (the store closes). */
  close(): void {
    this.closed = true;
    this.giveBack();
  }

  /** What Knex's pool checks before handing a connection out (its lifetime and config checks are unused here). */
  private usable(conn: unknown): boolean {
    if ((conn as DisposableConnection).__knex__disposed) return false;
    return this.source.validateConnection?.(conn) !== false;
  }

  private giveBack(): void {
    const c = this.idle;
    if (c === undefined) return;
    this.idle = undefined;
    void this.source.releaseConnection(c);
  }

  private readonly onIdleCheck = (): void => {
    this.timer = undefined;
    if (this.idle === undefined) return;
    const left = this.usedAt + IDLE_RELEASE_MS - this.now();
    if (left <= 0) this.giveBack();
    else this.timer = setTimeout(this.onIdleCheck, left).unref();
  };
}



const held = new WeakMap<Knex, HeldConnection>();
/** The last lookup (a server has one writer Knex): no WeakMap lookup per commit. */
let lastKnex: Knex | undefined;
let lastHeld: HeldConnection | undefined;

/** The writer Knex's held connection (made on first use). */
export function heldConnection(knex: Knex): HeldConnection {
  if (knex === lastKnex && lastHeld !== undefined) return lastHeld;
  let h = held.get(knex);
  if (h === undefined) {
    h = new HeldConnection(knex.client as ConnectionSource);
    held.set(knex, h);
  }
  lastKnex = knex;
  lastHeld = h;
  return h;
}

/** Before the writer Knex is destroyed: the held connection back to its pool. */
export function releaseHeld(knex: Knex): void {
  held.get(knex)?.close();
  if (lastKnex === knex) lastKnex = lastHeld = undefined;
}
