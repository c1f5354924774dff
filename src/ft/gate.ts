/**
 * The FT send gate: the STAN core of an FT server talks to NATS through this wrapper, which
 * drops everything addressed to clients (PubAcks — error PubAcks too —, deliveries, request
 * responses, heartbeats) whenever the server is not sure it is the active one. Both servers
 * of a pair receive the same publishes: an answer from a server that may have lost the lease
 * would race the new active's real one.
 *
 * Incoming requests that arrive while the gate is closed are *held*, not processed and not
 * dropped: a late renewal (a GC pause, a loaded machine, a slow database) closes the gate for
 * a moment, and real clients do not retry a publish or a connect whose answer never came. The
 * held requests run, in arrival order, at the next successful renewal ({@link release}); if
 * the lease is lost instead they never run (the server steps down), which is what dropping
 * them did. Processing them later is safe: every write they cause is fenced by the lease.
 */
import type { MsgHandler, NatsTransport, SubjectGroup, SubscribeOptions, TransportSubscription } from '../nats/transport';
import { RequestTimeoutError } from '../nats/transport';

/**
 * At most this many incoming messages wait for the gate; later ones are dropped, as a server
 * that is down would. A renewal is at most a lease duration late before the lease counts as
 * lost, so this bounds a burst of 1.5 s (the default TTL) at ~6,700 msgs/s per 10k.
 */
export const HELD_LIMIT = 10_000;

export class GatedTransport implements NatsTransport {
  /** Messages dropped because the gate was closed (outgoing) or the held queue was full. */
  dropped = 0;
  /** Incoming messages held while the gate was closed, in total (logs, tests). */
  heldTotal = 0;
  private held: Array<() => void> = [];

  constructor(
    private readonly inner: NatsTransport,
    private readonly open: () => boolean,
    private readonly heldLimit = HELD_LIMIT,
  ) {
    // Only when the inner transport has groups: callers test for the method.
    const groups = inner.subscribeGroup?.bind(inner);
    if (groups !== undefined) this.subscribeGroup = (handler, subjects) => groups(this.gated(handler), subjects);
  }

  /** The inner transport's subject groups, each message through the gate (see subscribe). */
  readonly subscribeGroup?: (handler: MsgHandler, subjects: ReadonlyMap<string, unknown>) => SubjectGroup;

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (!this.open()) {
      this.dropped++;
      return;
    }
    this.inner.publish(subject, data, reply);
  }

  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription {
    return this.inner.subscribe(subject, this.gated(handler), opts);
  }

  /**
   * Incoming work is only processed while the gate is open: a server that is not sure it
   * is active must not even record it. It waits for the gate instead (see the file comment).
   */
  private gated(handler: MsgHandler): MsgHandler {
    return (s, r, d) => {
      if (this.held.length > 0) this.release();
      if (this.held.length === 0 && this.open()) {
        handler(s, r, d);
        return;
      }
      if (this.held.length >= this.heldLimit) {
        this.dropped++;
        return;
      }
      this.heldTotal++;
      this.held.push(() => handler(s, r, d));
    };
  }

  /** Runs the held incoming messages in arrival order if the gate is open (call after each renewal). */
  release(): void {
    if (this.held.length === 0 || !this.open()) return;
    const held = this.held;
    this.held = [];
    for (const run of held) run();
  }

  /** Incoming messages waiting for the gate now. */
  get heldCount(): number {
    return this.held.length;
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (!this.open()) {
      this.dropped++;
      return Promise.reject(new RequestTimeoutError(subject));
    }
    return this.inner.request(subject, data, timeoutMs);
  }

  newInbox(): string {
    return this.inner.newInbox();
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    this.held = [];
    return this.inner.close();
  }

  get closed(): boolean {
    return this.inner.closed;
  }
}
