/**
 * Active/standby election for an FT group (`--ft_group`), driven by the database lease alone.
 *
 * Standby: polls the lease; a database outage is retried with backoff (never fatal).
 * Active: renews at a fixed interval. It is *sure* to be active only while the last successful
 * renewal (measured on the local monotonic clock from when the renewal was sent) is younger
 * than the lease duration minus a safety margin; outside that window the gate closes and the
 * server sends nothing to clients, because a standby may already be answering them.
 */
import type { Logger } from '../logging/logger';
import { isLockWait, isWriteConflict, type Lease, LeaseLostError } from './lease';
import { errorText } from '../errors';
import { StanServerError } from '../errors';

export interface FtTimings {
  /** Lease duration (ms). */
  ttlMs: number;
  /** Renewal interval of the active (ms). */
  renewMs: number;
  /** Lease polling interval of a standby (ms). */
  pollMs: number;
}

/** Defaults: failover well under 2 s after a crash, immediate after a clean shutdown. */
export const DEFAULT_FT_TIMINGS: FtTimings = { ttlMs: 1500, renewMs: 250, pollMs: 200 };

/** Part of the lease duration kept as a margin against clock-rate differences. */
const SAFETY = 0.2;

/**
 * Thrown by a standby check (FtController.standbyCheck) when waiting on is pointless and the
 * server must stop, e.g. another clustered node runs with this node's ID.
 */
export class ElectionFatalError extends StanServerError {
  readonly kind = 'ft-lease' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ElectionFatalError';
  }
}

/** What the controller needs of the lease (src/ft/lease.ts's Lease; a fake in unit tests). */
export type LeaseOps = Pick<Lease, 'tryAcquire' | 'renew' | 'release' | 'close' | 'epoch'>;

export class FtController {
  private renewTimer: NodeJS.Timeout | undefined;
  /** performance.now() when the last successful renewal (or acquisition) was *sent*. */
  private lastOkSentAt = 0;
  private active = false;
  private lost = false;
  private stopped = false;
  /** Called once when the lease is lost: the server must stop serving at once. */
  onLost: (why: string) => void = () => {};
  /** Called after every successful renewal: the send gate runs what it held meanwhile. */
  onRenewed: () => void = () => {};
  /** When the last "renewal was late" warning was logged, and how many were not logged since. */
  private lateWarnedAt = -Infinity;
  private lateUnlogged = 0;
  /** Run after every attempt that found the lease held by another server; may throw ElectionFatalError. */
  standbyCheck: (() => Promise<void>) | undefined;

  constructor(
    private readonly lease: LeaseOps,
    private readonly t: FtTimings,
    private readonly log: Logger,
    /** Monotonic milliseconds (performance.now); injected by unit tests. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True only while this server certainly holds the lease. */
  surelyActive(): boolean {
    if (!this.active || this.lost) return false;
    return this.now() - this.lastOkSentAt < this.t.ttlMs * (1 - SAFETY);
  }

  get epoch(): number {
    return this.lease.epoch;
  }

  /** Waits (as a standby) until this server holds the lease; resolves with the epoch. */
  async waitUntilActive(): Promise<number> {
    let backoff = this.t.pollMs;
    let dbDown = false;
    let lockWait = false;
    while (!this.stopped) {
      const sentAt = this.now();
      try {
        const epoch = await this.lease.tryAcquire();
        if (dbDown) this.log.notice('ft: database reachable again');
        dbDown = false;
        lockWait = false;
        backoff = this.t.pollMs;
        if (epoch > 0 && this.stopped) {
          // Stopped (shutdown requested) while this attempt was in flight: hand it back.
          await this.lease.release().catch(() => undefined);
          break;
        }
        if (epoch > 0) {
          const validFrom = await this.confirmSlowAcquire(sentAt);
          if (validFrom === undefined) continue;
          this.lastOkSentAt = validFrom;
          this.active = true;
          return epoch;
        }
        await this.standbyCheck?.();
      } catch (err) {
        if (err instanceof ElectionFatalError) throw err;
        if (isWriteConflict(err)) {
          // Another follower took the lease at the same moment and certified first.
          backoff = this.t.pollMs;
        } else if (isLockWait(err)) {
          // The database answers, but the active's open write transaction holds the lease
          // row (a frozen active: the database ends its session after the lease duration).
          // Not an outage: keep polling at the normal pace, no backoff.
          if (!lockWait) this.log.warn('ft: the lease row is locked by the active server\'s open transaction, waiting');
          lockWait = true;
          backoff = this.t.pollMs;
        } else {
          if (!dbDown) this.log.error(`ft: cannot reach the lease (will retry): ${errorText(err)}`);
          dbDown = true;
          backoff = Math.min(backoff * 2, 5000);
        }
      }
      await new Promise((r) => setTimeout(r, backoff));
    }
    throw new Error('ft: stopped while in standby');
  }

  /**
   * The lease was just taken by an attempt sent at `sentAt`: returns when its validity
   * window starts, or undefined to try again. A commit that took most of the lease (a
   * Galera cluster holds every commit until a lost node is declared dead, seconds) leaves a
   * window too short to serve in; renewing at once (one fast commit now that the cluster
   * moves again) opens a full one. Waiting for our own lease to expire and taking it again
   * cost a whole TTL more at every such failover (measured on Galera, docs/clustering.md).
   */
  private async confirmSlowAcquire(sentAt: number): Promise<number | undefined> {
    const took = this.now() - sentAt;
    if (took < this.t.ttlMs * (1 - SAFETY)) return sentAt;
    const renewSentAt = this.now();
    const renewed = await this.lease.renew();
    const renewTook = this.now() - renewSentAt;
    if (renewed && renewTook < this.t.ttlMs * (1 - SAFETY)) {
      this.log.notice(`ft: taking the lease took ${Math.round(took)} ms, close to its duration; renewed it at once (${Math.round(renewTook)} ms)`);
      return renewSentAt;
    }
    this.log.warn(`ft: taking the lease took ${Math.round(took)} ms, too close to its duration, and renewing it ${renewed ? 'was as slow' : 'failed'}; trying again`);
    return undefined;
  }

  /** Starts renewing; on loss calls onLost once. */
  startRenewing(): void {
    const tick = async (): Promise<void> => {
      if (this.stopped || this.lost) return;
      const sentAt = this.now();
      try {
        if (await this.lease.renew()) {
          const wasSure = this.surelyActive();
          const gap = sentAt - this.lastOkSentAt;
          this.lastOkSentAt = sentAt;
          if (!wasSure) this.warnLate(gap);
          this.onRenewed();
        } else {
          this.markLost(`the lease of the FT group was taken over or expired (epoch ${this.lease.epoch})`);
          return;
        }
      } catch (err) {
        // Keep trying while the lease may still be ours; the gate closes on its own when the
        // last good renewal gets too old, and the loss is declared once it surely expired.
        if (this.now() - this.lastOkSentAt > this.t.ttlMs) {
          this.markLost(`cannot renew the lease: ${errorText(err)}`);
          return;
        }
      }
      if (!this.stopped && !this.lost) this.renewTimer = setTimeout(() => void tick(), this.t.renewMs);
    };
    this.renewTimer = setTimeout(() => void tick(), this.t.renewMs);
  }

  /**
   * A renewal came later than the gate's window (lease duration minus the safety margin): the
   * server held clients' requests meanwhile. Worth an operator's eye (an overloaded host, a
   * slow database), logged at most once a minute.
   */
  private warnLate(gapMs: number): void {
    const now = this.now();
    if (now - this.lateWarnedAt < 60_000) {
      this.lateUnlogged++;
      return;
    }
    const more = this.lateUnlogged > 0 ? ` (${this.lateUnlogged} more since the last such line)` : '';
    this.log.warn(
      `ft: the lease was renewed ${Math.round(gapMs)} ms after the previous renewal, later than the ` +
        `${Math.round(this.t.ttlMs * (1 - SAFETY))} ms this server serves on one renewal: clients' requests were held meanwhile${more}. ` +
        'Check the host\'s load and the database\'s latency, or raise --ft_lease_ttl.',
    );
    this.lateWarnedAt = now;
    this.lateUnlogged = 0;
  }

  /** The store's fence hook failed: the lease is gone. */
  fenceFailed(err: LeaseLostError): void {
    this.markLost(err.message);
  }

  private markLost(why: string): void {
    if (this.lost) return;
    this.lost = true;
    this.active = false;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.onLost(why);
  }

  /** Stops renewing and (clean shutdown) releases the lease so a standby takes over at once. */
  async stop(release: boolean): Promise<void> {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (release && this.active && !this.lost) {
      try {
        await this.lease.release();
      } catch (err) {
        this.log.error(`ft: could not release the lease: ${errorText(err)}`);
      }
    }
    this.active = false;
    await this.lease.close();
  }
}
