/**
 * Who holds the election lease, as the admin API names it to a caller of a standby (FT) or
 * follower (clustered mode). The lease opens only once the election starts, after the monitor
 * already listens, so the reader is attached late. Answers are kept for a short while: a
 * burst of refused admin calls must not turn into a burst of database queries.
 */

/** The lease holder's owner ID, or undefined when nobody holds the lease; rejects when unknown. */
export type ActiveServerLookup = () => Promise<string | undefined>;

/** How long an answer (or a failure) is reused (ms). */
export const ACTIVE_SERVER_CACHE_MS = 1000;

export class ActiveServerSource {
  private read: ActiveServerLookup | undefined;
  private cached: { at: number; answer: Promise<string | undefined> } | undefined;

  constructor(
    /** Monotonic clock (ms). */
    private readonly now: () => number = () => performance.now(),
    private readonly cacheMs = ACTIVE_SERVER_CACHE_MS,
  ) {}

  /** Called by the start-up code once the lease is open. */
  attach(read: ActiveServerLookup): void {
    this.read = read;
    this.cached = undefined;
  }

  /** The current holder: one read per cache period, shared by the calls that arrive meanwhile. */
  readonly lookup: ActiveServerLookup = () => {
    const read = this.read;
    if (read === undefined) return Promise.reject(new Error('the lease is not open yet'));
    const t = this.now();
    if (this.cached !== undefined && t - this.cached.at < this.cacheMs) return this.cached.answer;
    // A failure is kept too: a database outage is not hammered by every refused call.
    const answer = read();
    answer.catch(() => undefined);
    this.cached = { at: t, answer };
    return answer;
  };
}
