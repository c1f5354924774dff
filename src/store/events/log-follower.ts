/**
 * A warm follower of the event log: a clustered follower (or an FT standby) keeps its own
 * projection of the committed state while it waits for the lease, by folding the events the
 * leader appends (`evolve`, the same pure fold recovery uses), page by page by event ID. At
 * takeover only the tail written since its last poll is replayed.
 *
 * No I/O here: the log is read through an EventLogSource (the SQL store's in
 * src/store/sql/event-log-source.ts), so the tailing rules are unit-tested with a fake one.
 *
 * What can go wrong under a follower, and how it is caught:
 *  - a snapshot compacts the log (its transaction deletes every event it covers): the newest
 *    snapshot's mark (the last event ID it covers) differs from the one the state was built
 *    on, so the state is rebuilt from that snapshot (events it deleted before this follower
 *    read them are in it);
 *  - an event becomes visible below the follower's position (a transaction that committed
 *    after a later one, or events removed by hand / a restored database): caught at takeover
 *    by counting the rows between the base snapshot and the position, which must equal the
 *    events folded since that snapshot; otherwise the state is rebuilt from scratch.
 */
import type { StoreEvent } from './events';
import { emptyState, evolve, type ProjectedState } from './projection';

/** One stan_events row, decoded. */
export interface LoggedEvent {
  id: number;
  event: StoreEvent;
}

/** The newest snapshot (decoded) and the last event ID it covers. */
export interface LogBase {
  state: ProjectedState;
  /** last_event_id of the snapshot; 0 without a snapshot (then `state` is empty). */
  mark: number;
}

export interface EventLogSource {
  /**
   * The state to start from: the newest snapshot, or an empty state at mark 0. Undefined
   * while the database holds no STAN data yet (the leader has not initialised it).
   */
  loadBase(): Promise<LogBase | undefined>;
  /** last_event_id of the newest snapshot, 0 when there is none (one cheap query). */
  snapshotMark(): Promise<number>;
  /** Events with an ID above `afterID`, in ID order, at most `limit`. */
  eventsAfter(afterID: number, limit: number): Promise<LoggedEvent[]>;
  /** How many events have an ID in (afterID, upToID]. */
  countEvents(afterID: number, upToID: number): Promise<number>;
}

/** Events read per query, so a follower that fell far behind never loads the log at once. */
export const FOLLOW_PAGE = 10_000;

/** What one poll did. */
export interface PollResult {
  /** Events folded by this poll. */
  applied: number;
  /** The state was rebuilt from a (new) snapshot by this poll. */
  rebased: boolean;
}

/** The state handed over at takeover, and how it was obtained (for the log line). */
export interface Handover {
  /** Undefined: the database holds no STAN data (first start). */
  state: ProjectedState | undefined;
  /** Events replayed at takeover (the tail, or everything after the snapshot on a fallback). */
  replayed: number;
  /** Events folded while following, before the takeover. */
  followed: number;
  /** Why the followed state was not used (a full recovery was done instead); undefined when it was. */
  fallback: string | undefined;
}

export class LogFollower {
  private state: ProjectedState | undefined;
  /** Mark of the snapshot the state was built from. */
  private base = 0;
  /** ID of the last event folded (or the base's mark). */
  private position = 0;
  /** Events folded since the base snapshot (what countEvents must find at takeover). */
  private sinceBase = 0;
  /** Events folded while following, over every rebuild. */
  private followedTotal = 0;
  /** Rebuilds from a new snapshot while following. */
  rebases = 0;

  constructor(
    private readonly source: EventLogSource,
    private readonly page = FOLLOW_PAGE,
  ) {}

  /** Events folded so far, and the position reached (for tests and logs). */
  get progress(): { followed: number; position: number; base: number } {
    return { followed: this.followedTotal, position: this.position, base: this.base };
  }

  /** Reads and folds everything appended since the last poll (in pages). */
  async poll(): Promise<PollResult> {
    let rebased = false;
    if (this.state === undefined) {
      if (!(await this.rebuild())) return { applied: 0, rebased: false };
      rebased = true;
    }
    let applied = await this.readTail();
    // Read after the events: a compaction that deleted events before our read shows here.
    const mark = await this.source.snapshotMark();
    if (mark !== this.base) {
      // A snapshot appeared (or the log was reset): rebuild from it. Events it covers may
      // have been deleted before this follower saw them; the snapshot has them.
      this.rebases++;
      rebased = true;
      if (!(await this.rebuild())) return { applied, rebased };
      applied += await this.readTail();
    }
    this.followedTotal += applied;
    return { applied, rebased };
  }

  /**
   * At takeover (the lease is ours, nobody else writes): the last tail, then the check that
   * no event was missed; a mismatch rebuilds from scratch (snapshot + every event after it),
   * which is exactly a full recovery.
   */
  async handover(): Promise<Handover> {
    const followed = this.followedTotal;
    const wasWarm = this.state !== undefined;
    const last = await this.poll();
    if (this.state === undefined) return { state: undefined, replayed: 0, followed, fallback: undefined };
    let fallback: string | undefined;
    let replayed = last.applied;
    const found = await this.source.countEvents(this.base, this.position);
    if (found !== this.sinceBase) {
      fallback = `the log holds ${found} event(s) from event ${this.base} to ${this.position}, this node folded ${this.sinceBase}: some were missed`;
      if (!(await this.rebuild())) return { state: undefined, replayed: 0, followed, fallback };
      await this.readTail();
      replayed = this.sinceBase;
    } else if (!wasWarm) {
      fallback = 'nothing was followed before the takeover';
      replayed = this.sinceBase;
    } else if (last.rebased) {
      fallback = 'a snapshot compacted the log since the last poll';
      replayed = this.sinceBase;
    }
    return { state: this.state, replayed, followed, fallback };
  }

  private async rebuild(): Promise<boolean> {
    const base = await this.source.loadBase();
    if (base === undefined) {
      this.state = undefined;
      return false;
    }
    this.state = base.state;
    this.base = base.mark;
    this.position = base.mark;
    this.state.lastEventID = Math.max(this.state.lastEventID, base.mark);
    this.sinceBase = 0;
    return true;
  }

  /** Folds every event after the position, page by page; returns how many. */
  private async readTail(): Promise<number> {
    let applied = 0;
    for (;;) {
      const rows = await this.source.eventsAfter(this.position, this.page);
      let state = this.state ?? emptyState();
      for (const r of rows) {
        state = evolve(state, r.event, r.id);
        this.position = r.id;
      }
      this.state = state;
      applied += rows.length;
      this.sinceBase += rows.length;
      if (rows.length < this.page) return applied;
    }
  }
}

/** The timers the follow loop uses (src/stan/clock.ts's Clock fits; tests pass a fake one). */
export interface FollowTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

export interface FollowLoopOptions {
  intervalMs: number;
  timers: FollowTimers;
  /** A poll failed (`first`: the first of a run of failures, the one worth logging). */
  onError: (err: unknown, first: boolean) => void;
  /** A poll succeeded after failures. */
  onRecovered: () => void;
  /** The first poll that found STAN data has folded it: the state is warm from now on. */
  onWarm?: (progress: LogFollower['progress']) => void;
}

/**
 * Polls the follower every `intervalMs` (counted from the end of the previous poll, so polls
 * never overlap) until stopped. A failed poll (database unreachable) is retried at the next
 * interval: the follower's state stays as the last successful page left it.
 */
export class FollowLoop {
  private timer: unknown;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private warm = false;

  constructor(
    readonly follower: LogFollower,
    private readonly o: FollowLoopOptions,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Stops polling; resolves once a poll in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.timers.setTimeout(() => {
      this.timer = undefined;
      this.running = this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    try {
      await this.follower.poll();
      if (this.failing) this.o.onRecovered();
      this.failing = false;
      if (!this.warm && this.follower.progress.followed + this.follower.progress.base > 0) {
        this.warm = true;
        this.o.onWarm?.(this.follower.progress);
      }
    } catch (err) {
      this.o.onError(err, !this.failing);
      this.failing = true;
    }
    this.running = undefined;
    this.schedule(this.o.intervalMs);
  }
}
