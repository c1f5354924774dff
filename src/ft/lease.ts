/**
 * The fault-tolerance lease: one row per FT group in `stan_lease` (migration 0002).
 *
 * - Time is the database's clock, never a server's: `expires_at` is compared with the
 *   database's now in every statement.
 * - A takeover increments `epoch`. Every write transaction of the event store runs `fence()`
 *   first: a conditional UPDATE that matches only while this server holds (owner, epoch) and
 *   the lease has not expired. The UPDATE takes the row lock until commit, so a standby's
 *   takeover (an UPDATE of the same row) waits for our commit or finds the lease lost — a
 *   plain SELECT would let a takeover slip in under READ COMMITTED or MySQL snapshot reads.
 * - The lease uses its own connection with statement timeouts (openLeaseKnex).
 */
import type { Knex } from 'knex';
import { dialectFor, type DialectName } from '../store/sql/dialect';
import { StanServerError } from '../errors';
import type { FenceText } from '../store/contract';

/** Thrown by fence()/renew when this server no longer holds the lease. */
export class LeaseLostError extends StanServerError {
  override readonly kind = 'ft-lease' as const;
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** Group names are stored in a VARCHAR(255) key and shown in logs: printable, no spaces. */
const GROUP_RE = /^[A-Za-z0-9_.:@-]{1,255}$/;

export function validateGroupName(name: string): void {
  if (!GROUP_RE.test(name)) {
    throw new Error(
      `invalid --ft_group "${name}": use 1 to 255 characters among letters, digits and _ . : @ - ` +
        '(the name is the key of the lease row in the database)',
    );
  }
}

export interface LeaseOptions {
  group: string;
  /** This server's ID (its NUID): the lease's owner while it holds it. */
  owner: string;
  /** Lease duration (ms): how long after the last renewal a standby may take over. */
  ttlMs: number;
}

/**
 * True when a lease statement failed because another session holds the lease row's lock (its
 * fenced write transaction is open) rather than because the database is unreachable: a
 * statement or lock timeout (Postgres 57014/55P03, MySQL 1205/1969/3024, SQLite BUSY).
 */
export function isLockWait(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (e.code === '57014' || e.code === '55P03' || e.code === 'SQLITE_BUSY') return true;
  if (e.errno === 1205 || e.errno === 1969 || e.errno === 3024) return true;
  return typeof e.message === 'string' && /statement timeout|lock timeout|Lock wait timeout|database is locked/i.test(e.message);
}

/**
 * A conflict with another writer of the lease row, not an outage: Galera's certification
 * conflict surfaces as a deadlock (1213) when two followers take an expired lease at once on
 * two nodes (the first to certify wins); PostgreSQL reports 40001/40P01 in the same race.
 * The loser polls on at the normal pace instead of backing off as from a database outage.
 */
export function isWriteConflict(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  return e.errno === 1213 || e.code === '40001' || e.code === '40P01';
}

export class Lease {
  private readonly now: string;
  /** Epoch this server holds; 0 when it holds none. */
  epoch = 0;
  private rowEnsured = false;
  /** fenceStatement()'s text for the epoch it was compiled for. */
  private statementCache: { epoch: number; text: FenceText } | undefined;
  /**
   * The statement that, inside a fenced transaction, makes the database end this session if
   * it sits idle in the transaction for longer than the lease: a server frozen (SIGSTOP, VM
   * pause) between its fence and its commit holds the lease row's lock, and without this the
   * standby's takeover would wait for that lock for as long as the freeze lasts. Postgres:
   * `idle_in_transaction_session_timeout` (SET LOCAL: this transaction only); MariaDB:
   * `idle_write_transaction_timeout` (seconds; only counts inside write transactions).
   * MySQL has no such setting (see docs/ft.md); SQLite locks die with the frozen process only.
   */
  idleTxGuard: string | undefined;

  constructor(
    private readonly knex: Knex,
    readonly dialect: DialectName,
    private readonly opts: LeaseOptions,
  ) {
    this.now = dialectFor(dialect).nowMs;
  }

  /**
   * Sets up the dialect specifics (the idle-transaction guard of the fence). Call once after
   * construction; failing to query the server version just leaves the guard off.
   */
  async init(): Promise<void> {
    const ttlMs = Math.max(1, Math.ceil(this.opts.ttlMs));
    this.idleTxGuard = await dialectFor(this.dialect).idleTxGuard(this.knex, ttlMs);
  }

  /** Ensures the group's row exists (idempotent; races between standbys are harmless). */
  private async ensureRow(): Promise<void> {
    // Once is enough (the row is never deleted); repeating it would also wait on the row
    // lock of a frozen holder's transaction like any write to the row.
    if (this.rowEnsured) return;
    await this.knex('stan_lease')
      .insert({ group_name: this.opts.group, owner: '', epoch: 0, expires_at: 0, writes: 0 })
      .onConflict('group_name')
      .ignore();
    this.rowEnsured = true;
  }

  /**
   * One attempt to take the lease: succeeds when it is released ('' owner) or expired by the
   * database's clock. Returns the new epoch, or 0 when another server holds it.
   */
  async tryAcquire(): Promise<number> {
    await this.ensureRow();
    const k = this.knex;
    const n = await k('stan_lease')
      .where('group_name', this.opts.group)
      .andWhere((q) => q.where('owner', '').orWhere('expires_at', '<', k.raw(this.now)))
      .update({
        owner: this.opts.owner,
        epoch: k.raw('epoch + 1'),
        expires_at: k.raw(`${this.now} + ?`, [this.opts.ttlMs]),
        writes: k.raw('writes + 1'),
      });
    if (n !== 1) return 0;
    const row = await k('stan_lease').select('epoch', 'owner').where('group_name', this.opts.group).first();
    const r = row as { epoch: number | string; owner: string } | undefined;
    if (r === undefined || r.owner !== this.opts.owner) return 0;
    this.epoch = Number(r.epoch);
    return this.epoch;
  }

  /** Extends the lease; false when it was lost (taken over, or expired before we renewed). */
  async renew(): Promise<boolean> {
    if (this.epoch === 0) return false;
    const k = this.knex;
    const n = await k('stan_lease')
      .where({ group_name: this.opts.group, owner: this.opts.owner, epoch: this.epoch })
      .andWhere('expires_at', '>', k.raw(this.now))
      .update({ expires_at: k.raw(`${this.now} + ?`, [this.opts.ttlMs]), writes: k.raw('writes + 1') });
    return n === 1;
  }

  /**
   * Runs inside a store write transaction: proves, with the row lock held until commit, that
   * this server still holds the lease at its epoch. Throws LeaseLostError otherwise.
   */
  async fence(trx: Knex.Transaction): Promise<void> {
    if (this.idleTxGuard !== undefined) await trx.raw(this.idleTxGuard);
    const n = await this.fenceQuery(trx);
    if (n !== 1) throw this.lostError();
  }

  private fenceQuery(k: Knex | Knex.Transaction): Knex.QueryBuilder {
    return k('stan_lease')
      .where({ group_name: this.opts.group, owner: this.opts.owner, epoch: this.epoch })
      .andWhere('expires_at', '>', k.raw(this.now))
      .update({ writes: k.raw('writes + 1') });
  }

  /**
   * fence()'s UPDATE as SQL text (and the idle-transaction guard that goes before it), for a
   * write transaction that does not go through Knex: the FILE store's write thread, the SQL
   * stores' direct group commits (src/store/sql/direct-tx.ts). It must change exactly one row.
   * Compiled once per epoch (the only value in it that changes).
   */
  fenceStatement(): FenceText {
    if (this.statementCache?.epoch !== this.epoch) {
      const q = this.fenceQuery(this.knex);
      const n = q.toSQL().toNative();
      const text: FenceText = { sql: n.sql, bindings: n.bindings as Array<string | number>, literal: q.toQuery() };
      if (this.idleTxGuard !== undefined) text.guard = this.idleTxGuard;
      this.statementCache = { epoch: this.epoch, text };
    }
    return this.statementCache.text;
  }

  lostError(): LeaseLostError {
    return new LeaseLostError(`ft: lease of group "${this.opts.group}" lost (epoch ${this.epoch})`);
  }

  /** The lease row as it is now (owner and write counter), without taking any lock. */
  async peek(): Promise<{ owner: string; writes: number } | undefined> {
    const r = (await this.knex('stan_lease').select('owner', 'writes').where('group_name', this.opts.group).first()) as
      | { owner: string; writes: number | string }
      | undefined;
    return r === undefined ? undefined : { owner: r.owner, writes: Number(r.writes) };
  }

  /**
   * The owner of the lease while somebody holds it (by the database's clock), undefined when
   * it is released or expired. Read-only, no lock: the admin API names the active server.
   */
  async holder(): Promise<string | undefined> {
    const r = (await this.knex('stan_lease')
      .select('owner')
      .where('group_name', this.opts.group)
      .andWhere('owner', '<>', '')
      .andWhere('expires_at', '>', this.knex.raw(this.now))
      .first()) as { owner: string } | undefined;
    return r?.owner;
  }

  /** Clean shutdown: frees the lease so a standby takes over at once. */
  async release(): Promise<void> {
    if (this.epoch === 0) return;
    await this.knex('stan_lease')
      .where({ group_name: this.opts.group, owner: this.opts.owner, epoch: this.epoch })
      .update({ owner: '', expires_at: 0 });
    this.epoch = 0;
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}
