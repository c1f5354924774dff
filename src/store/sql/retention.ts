/**
 * max_age retention of the SQL store: a once-a-second timer, armed when some channel has
 * max_age, that expires each channel's too-old messages (the channel does the work: hot
 * messages in memory, cold ones by a database query) and commits what that recorded.
 */
import type { ChannelLimits } from '../../config/options';
import { ageCutoffNs } from '../limits/policy';

export interface AgedChannel {
  readonly limits: ChannelLimits;
  readonly msgs: { expireOlderThan(cutoffNs: number): boolean };
}

export class RetentionTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly channels: () => Iterable<AgedChannel>,
    /** Commits what an expiry recorded (errors are the caller's to report). */
    private readonly commit: () => void,
    private readonly now: () => number,
  ) {}

  /** Starts the timer if some channel has max_age (called when channels appear). */
  arm(): void {
    if (this.timer !== undefined || this.stopped) return;
    let anyAge = false;
    for (const c of this.channels()) if (c.limits.maxAge > 0) anyAge = true;
    if (!anyAge) return;
    this.timer = setInterval(() => this.expire(), 1000);
    this.timer.unref();
  }

  private expire(): void {
    const nowNs = this.now() * 1e6;
    let any = false;
    for (const c of this.channels()) {
      const maxAge = c.limits.maxAge;
      if (maxAge <= 0) continue;
      if (c.msgs.expireOlderThan(ageCutoffNs(nowNs, maxAge))) any = true;
    }
    if (any) this.commit();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }
}
