/**
 * The SQL store's warm follower (src/store/events/log-follower.ts) while the server waits for
 * the lease, and the takeover that ends it: the last tail, the message-row aggregates (message
 * rows are not events) and one log line that says what was replayed.
 */
import { FollowLoop, LogFollower, type FollowTimers } from '../events/log-follower';
import type { LogFollowReport } from '../contract';
import { errorText } from '../../errors';
import { addMessageAggregates, type LoadedState } from './recovery';
import { SqlEventLogSource } from './event-log-source';
import type { SnapshotRead } from './dialect/postgres-copy-out';
import type { PlainRows } from './plain-reads';

const systemTimers: FollowTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
};

export class WarmFollow {
  private readonly loop: FollowLoop;

  constructor(
    private readonly db: PlainRows,
    clusterID: string,
    private readonly o: { intervalMs: number; report: LogFollowReport; timers?: FollowTimers; readSnapshot?: SnapshotRead },
  ) {
    this.loop = new FollowLoop(new LogFollower(new SqlEventLogSource(db, clusterID, o.readSnapshot)), {
      intervalMs: o.intervalMs,
      timers: o.timers ?? systemTimers,
      onError: (err, first) => {
        if (first) o.report.warn(`following the event log failed (will retry every ${o.intervalMs} ms; a takeover recovers in full if needed): ${errorText(err)}`);
      },
      onRecovered: () => o.report.notice('following the event log again'),
      onWarm: (p) => o.report.notice(`following the event log: caught up at event ${p.position} (from the snapshot at event ${p.base})`),
    });
  }

  start(): void {
    this.o.report.notice(`following the event log every ${this.o.intervalMs} ms (warm standby: a takeover replays only the tail)`);
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Stops following and returns the committed state, as loadCommittedState does. */
  async takeOver(): Promise<LoadedState> {
    await this.loop.stop();
    const h = await this.loop.follower.handover();
    if (h.state === undefined) return { state: undefined, replayed: 0 };
    await addMessageAggregates(this.db, h.state);
    const { rebases } = this.loop.follower;
    if (h.fallback === undefined) {
      this.o.report.notice(
        `warm takeover: replayed ${h.replayed} event(s) written since the last poll; ${h.followed} event(s) followed before ` +
          `(up to event ${h.state.lastEventID}, ${rebases} snapshot rebuild(s))`,
      );
    } else {
      this.o.report.notice(`full recovery at takeover (${h.fallback}): replayed ${h.replayed} event(s) after the newest snapshot`);
    }
    return { state: h.state, replayed: h.replayed };
  }
}
