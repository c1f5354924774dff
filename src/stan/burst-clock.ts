/**
 * Message timestamps read once per burst of synchronous handling instead of once per message.
 *
 * A burst is what the server handles without yielding: the messages parsed from one socket
 * read (the embedded NATS server), or one in-process dispatch. They were all received at the
 * same moment, so one reading of the clock is their receive time; the next burst (the
 * first microtask checkpoint ends this one) reads the clock again. The spec asks for the
 * server's receive time, non-decreasing per channel (stan-protocol.md, MsgProto.timestamp),
 * which the publish path still enforces per channel on top of this.
 *
 * Why: `nowNanos()` is two clock reads (`Date.now()` and `performance.now()`), ~4% of the
 * main thread's time when publishing 128-byte messages on MEMORY (docs/performance.md);
 * an async publisher's socket read carries ~150 messages.
 */
import type { Clock } from './clock';

/** No reading cached (a clock never reads below 0: it is time since the Unix epoch). */
const NONE = -1;

export class BurstClock {
  private cached = NONE;

  constructor(private readonly clock: Clock) {}

  /** The clock's `nowNanos()`, read at the first call of the current burst. */
  nanos(): number {
    let ts = this.cached;
    if (ts === NONE) {
      ts = this.cached = this.clock.nowNanos();
      queueMicrotask(this.forget);
    }
    return ts;
  }

  private readonly forget = (): void => {
    this.cached = NONE;
  };
}
