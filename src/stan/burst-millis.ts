/**
 * The clock's milliseconds read once per burst of synchronous handling (as burst-clock.ts
 * does for message timestamps), for the ack deadlines of deliveries.
 *
 * Why: a subscriber at max in flight frees one slot per ack, so each delivery pass sends one
 * message and read the clock once per message (`Date.now` 2.3% of the main thread in a
 * catch-up profile, docs/performance.md "Catch-up, round 3"). The acks of one socket read are
 * handled without yielding: one reading serves all of their deliveries. An ack deadline set
 * from it is at most that burst's duration early.
 */
import type { Clock } from './clock';

const NONE = -1;

export class BurstMillis {
  private cached = NONE;

  constructor(private readonly clock: Clock) {}

  /** The clock's `now()`, read at the first call of the current burst. */
  now(): number {
    let ms = this.cached;
    if (ms === NONE) {
      ms = this.cached = this.clock.now();
      queueMicrotask(this.forget);
    }
    return ms;
  }

  private readonly forget = (): void => {
    this.cached = NONE;
  };
}
