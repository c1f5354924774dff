/**
 * The STAN core's view of NATS: publish, subscribe, request. Two implementations:
 *  - in-process, backed directly by the embedded server's subscription index (no socket,
 *    no protocol encode/decode for the server's own traffic);
 *  - external, backed by the `nats` (nats.js v2) client connected with `-ns`.
 *
 * Handlers take positional arguments instead of a message object so the hot path
 * (every publish, every ack) allocates nothing beyond the payload view.
 */
export type MsgHandler = (subject: string, reply: string | undefined, data: Uint8Array) => void;

export interface TransportSubscription {
  unsubscribe(): void;
}

export interface SubscribeOptions {
  queue?: string;
}

export class RequestTimeoutError extends Error {
  constructor(subject: string) {
    super(`nats: timeout on request to ${subject}`);
    this.name = 'RequestTimeoutError';
  }
}

export class NoRespondersError extends Error {
  constructor(subject: string) {
    super(`nats: no responders on ${subject}`);
    this.name = 'NoRespondersError';
  }
}

export interface NatsTransport {
  /** Fire-and-forget publish. Must never throw for a closed transport (drop instead). */
  publish(subject: string, data: Uint8Array, reply?: string): void;
  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription;
  /**
   * Request/reply with a single answer. Rejects with RequestTimeoutError after timeoutMs,
   * or NoRespondersError when the transport knows nobody listens (callers treat both alike).
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** A fresh `_INBOX.<nuid>` subject. */
  newInbox(): string;
  /** Resolves once everything published so far has been handed to the server. */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly closed: boolean;
  /**
   * Optional: calls `handler` whenever the NATS server reports new servers in its cluster
   * (INFO `connect_urls` grew). Partitioning re-checks its channel list then (spec §7.2).
   */
  onServersAdded?(handler: () => void): TransportSubscription;
}
