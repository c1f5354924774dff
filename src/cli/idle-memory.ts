/**
 * Gives V8's young generation back to the system once the server has gone quiet after a
 * burst of work.
 *
 * Why: a publish burst grows V8's young generation (its two semi-spaces) from 8 MB to its
 * maximum of 32 MB on this Node (64-bit, default flags), and V8 shrinks it again only in a
 * full GC run while the allocation rate is low; an idle server runs no GC at all, so the
 * 32 MB stayed resident for good. Measured with 100,000 stored 128-byte messages
 * (docs/performance.md, "Memory"): one full GC ~10 s after the burst took the server's RSS
 * from 125–131 to 92 MB on PostgreSQL and from 129 to 99 MB on FILE; the GC itself took
 * ~10–30 ms with a heap of ~17 MB live.
 *
 * When: every CHECK_MS the event loop's utilization over the last period is read; after
 * QUIET_CHECKS quiet periods in a row (10 s, so the burst's last GC is over 5 s old: V8
 * judges the allocation rate over the last 5 s and does not shrink before), and when the young
 * generation holds more than YOUNG_IDLE_BYTES, one full GC runs. A server under load is never
 * paused for it (its loop is not quiet). A GC after which V8 kept the young generation large
 * (the allocation rate was not low enough) is tried again after RETRY_MS, not every period.
 *
 * The GC function: `gc` when node runs with --expose-gc; otherwise V8's gc extension is
 * made available to one new vm context (the flag is set for that call and restored at
 * once, so the code cache's flag check sees the flags it always saw). Only the executable
 * does this (src/cli/main.ts): a program embedding the server keeps its own GC policy.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export const CHECK_MS = 2500;
/**
 * Event-loop utilization below which a period counts as quiet (heartbeats, monitoring polls).
 * After a burst of 100,000 publishes on PostgreSQL the server settles at 0.02–0.2% busy, but
 * one or two periods right after it read 4–18% (the last commits, the load generator's
 * connection closing): 10% lets the GC come a few seconds after the burst.
 */
export const QUIET_UTILIZATION = 0.1;
export const QUIET_CHECKS = 4;
/**
 * Only a young generation grown beyond its start-up size (8 MB on this Node; 1 MB after a
 * shrink) is worth a GC: a GC at start-up, with the start-up's allocation rate still in V8's
 * window, grew it to 16 MB instead (measured).
 */
export const YOUNG_IDLE_BYTES = 8 * 1024 * 1024;
/**
 * A GC after which V8 kept the young generation is tried again this much later: in the bench
 * the first GC 7.5 s after a burst sometimes left it at 32 MB, a later one gave it back.
 */
export const RETRY_MS = 20_000;

export interface IdleMemoryProbe {
  /** Fraction of the time since the previous call that the event loop was busy (0..1). */
  busyFraction(): number;
  /** Bytes V8 has committed for the young generation. */
  youngBytes(): number;
  /** A full garbage collection. */
  gc(): void;
  now(): number;
}

/** The decision, one call per period (see the file comment). */
export class IdleMemoryRelease {
  private quiet = 0;
  private lastGc = Number.NEGATIVE_INFINITY;
  /** The young generation's size right after the last GC (V8 kept it that large). */
  private keptBytes = 0;

  constructor(private readonly probe: IdleMemoryProbe) {}

  /** Returns true when it ran a GC. */
  check(): boolean {
    if (this.probe.busyFraction() >= QUIET_UTILIZATION) {
      this.quiet = 0;
      return false;
    }
    this.quiet++;
    if (this.quiet < QUIET_CHECKS) return false;
    const young = this.probe.youngBytes();
    if (young <= YOUNG_IDLE_BYTES) return false;
    const now = this.probe.now();
    // Grown since the last GC: a new burst, so collect now; still as large as the last GC
    // left it: V8 chose to keep it, so ask again only after a while.
    if (young <= this.keptBytes && now - this.lastGc < RETRY_MS) return false;
    this.probe.gc();
    this.lastGc = now;
    this.keptBytes = this.probe.youngBytes();
    this.quiet = 0;
    return true;
  }
}

/** V8's full GC, or undefined when this runtime does not offer it. */
export function v8FullGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => void exposed();
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn: unknown = vm.runInNewContext('gc');
    return typeof fn === 'function' ? () => void fn() : undefined;
  } catch {
    return undefined;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

function youngGenerationBytes(): number {
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

/** The production probe: event-loop utilization, V8's heap statistics, the GC (found on first use). */
export function processProbe(): IdleMemoryProbe {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  let gc: (() => void) | undefined | null = null;
  return {
    busyFraction: () => {
      const d = performance.eventLoopUtilization(last);
      last = performance.eventLoopUtilization();
      return d.utilization;
    },
    youngBytes: youngGenerationBytes,
    gc: () => {
      if (gc === null) gc = v8FullGc();
      gc?.();
    },
    now: () => performance.now(),
  };
}

/** Starts the checks on an unreferenced timer (never keeps the process alive); returns a stop. */
export function startIdleMemoryRelease(probe: IdleMemoryProbe = processProbe()): () => void {
  const release = new IdleMemoryRelease(probe);
  const timer = setInterval(() => release.check(), CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
