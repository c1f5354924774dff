/**
 * Time as the STAN core sees it. Every timer and every "now" of the core (heartbeats, ack
 * wait and redelivery, channel inactivity, the duplicate-client probe's caller, message
 * timestamps) goes through a Clock, so that unit tests drive time by hand instead of waiting.
 */

/** An opaque timer handle: only the clock that made it can cancel it. */
export interface TimerHandle {
  readonly __timer: unique symbol;
}

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (as Date.now()). */
  now(): number;
  /**
   * Wall-clock Unix nanoseconds with sub-millisecond resolution, for message timestamps
   * (the reference uses time.Now().UnixNano()); channels clamp it to be non-decreasing.
   */
  nowNanos(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(t: TimerHandle | undefined): void;
  /** Runs fn on a later turn of the event loop, after pending I/O callbacks. */
  setImmediate(fn: () => void): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // The monotonic clock's sub-millisecond digits give the resolution Date.now() lacks.
  nowNanos: () => Date.now() * 1e6 + Math.floor((performance.now() % 1) * 1e6),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (t) => {
    if (t !== undefined) clearTimeout(t as unknown as NodeJS.Timeout);
  },
  setImmediate: (fn) => void setImmediate(fn),
};
