/**
 * A hand-driven Clock (src/stan/clock.ts) for unit tests: time moves only when the test
 * calls advance(), which fires the due timers in time order.
 */
import type { Clock, TimerHandle } from '../../src/stan/clock';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private timers = new Map<number, Timer>();
  private nextID = 1;

  constructor(private ms = 1_700_000_000_000) {}

  now(): number {
    return this.ms;
  }

  nowNanos(): number {
    return this.ms * 1e6;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextID++;
    this.timers.set(id, { at: this.ms + Math.max(0, ms), seq: id, fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(t: TimerHandle | undefined): void {
    if (t !== undefined) this.timers.delete(t as unknown as number);
  }

  /** Not a time step: runs on a later event-loop turn, as in production. */
  setImmediate(fn: () => void): void {
    setImmediate(fn);
  }

  /** How many timers are armed (e.g. one ack timer per subscription with pending acks). */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer due meanwhile in time order (timers armed
   * by a firing timer run too when due). Promise callbacks settle between timers.
   */
  async advance(ms: number): Promise<void> {
    const end = this.ms + ms;
    for (;;) {
      let next: [number, Timer] | undefined;
      for (const e of this.timers) {
        if (e[1].at > end) continue;
        if (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
      }
      if (next === undefined) break;
      this.timers.delete(next[0]);
      if (next[1].at > this.ms) this.ms = next[1].at;
      next[1].fn();
      await settle();
    }
    this.ms = end;
    await settle();
  }
}

/** Lets promise callbacks and setImmediate callbacks queued so far run. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
