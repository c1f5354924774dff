/**
 * The FT send gate: the STAN core of an FT server talks to NATS through this wrapper, which
 * drops everything addressed to clients (PubAcks — error PubAcks too —, deliveries, request
 * responses, heartbeats) whenever the server is not sure it is the active one. Both servers
 * of a pair receive the same publishes: an answer from a server that may have lost the lease
 * would race the new active's real one.
 */
import type { MsgHandler, NatsTransport, SubscribeOptions, TransportSubscription } from '../nats/transport';
import { RequestTimeoutError } from '../nats/transport';

export class GatedTransport implements NatsTransport {
  /** Messages dropped because the gate was closed (logs, tests). */
  dropped = 0;

  constructor(
    private readonly inner: NatsTransport,
    private readonly open: () => boolean,
  ) {}

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (!this.open()) {
      this.dropped++;
      return;
    }
    this.inner.publish(subject, data, reply);
  }

  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription {
    // Incoming work is only processed while the gate is open: a server that is not sure it
    // is active must not even record it (its writes would be fenced anyway).
    return this.inner.subscribe(
      subject,
      (s, r, d) => {
        if (this.open()) handler(s, r, d);
      },
      opts,
    );
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
    return this.inner.close();
  }

  get closed(): boolean {
    return this.inner.closed;
  }
}
