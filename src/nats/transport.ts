/**
 * The STAN core's view of NATS: publish, subscribe, request. Two implementations:
 *  - in-process, backed directly by the embedded server's subscription index (no socket,
 *    no protocol encode/decode for the server's own traffic);
 *  - external, backed by the `nats` (nats.js v2) client connected with `-ns`.
 *
 * Handlers take positional arguments instead of a message object so the hot path
 * (every publish, every ack) allocates nothing beyond the payload view.
 */
import { StanServerError } from '../errors';
export type MsgHandler = (subject: string, reply: string | undefined, data: Uint8Array) => void;
/**
 * A handler given the message as the bytes buf[start, end) of a buffer it does not own (the
 * socket chunk the embedded server read it from): no view object per message. The bytes are
 * never written again (a socket read is a fresh buffer, an assembled payload one of its own), so
 * a handler may keep a view of them (the held publishes of a starting server do); keeping
 * one keeps the whole chunk alive.
 */
export type MsgRangeHandler = (subject: string, reply: string | undefined, buf: Uint8Array, start: number, end: number) => void;

export interface TransportSubscription {
  unsubscribe(): void;
}

/**
 * Many literal subjects with one handler (the STAN core's ack inboxes of one channel), each
 * added and removed on its own, with no object per subject: a restart with 60,000 durables
 * subscribes 60,000 ack inboxes before it serves (docs/performance.md, "Restart"). The group
 * keeps no list of its subjects: they are the keys of the Map given to subscribeGroup, which
 * the caller keeps in step (a key added right after add(), deleted right after delete()).
 */
export interface SubjectGroup {
  /** Starts delivering messages on `subject` (a literal subject, not in the group) to the handler. */
  add(subject: string): void;
  /** Stops delivering `subject` (a subject in the group). */
  delete(subject: string): void;
  /** Removes every subject of the group (the keys of its Map). */
  close(): void;
}

export interface SubscribeOptions {
  queue?: string;
  /**
   * Also keep this interest on a second member of the NATS cluster, when the transport
   * has one (see nats/cluster-standby.ts): requests on the subject are then not lost while
   * the main connection moves to another member. Only for requests that do not depend on
   * their order relative to other traffic (connect requests). Not combined with `queue`.
   */
  clusterStandby?: boolean;
}

export class RequestTimeoutError extends StanServerError {
  override readonly kind = 'nats' as const;
  constructor(subject: string) {
    super(`nats: timeout on request to ${subject}`);
    this.name = 'RequestTimeoutError';
  }
}

export class NoRespondersError extends StanServerError {
  override readonly kind = 'nats' as const;
  constructor(subject: string) {
    super(`nats: no responders on ${subject}`);
    this.name = 'NoRespondersError';
  }
}

/**
 * The transport is not connected to NATS right now (an external server went away and it is
 * reconnecting). Requests fail at once instead of being buffered, as the reference's NATS
 * connections do (no reconnect buffer): a liveness probe of a client sent after the
 * reconnect could reach a client that came back meanwhile and judge a replaced client alive.
 */
export class NotConnectedError extends StanServerError {
  override readonly kind = 'nats' as const;
  constructor(subject: string) {
    super(`nats: not connected, request to ${subject} not sent`);
    this.name = 'NotConnectedError';
  }
}

export interface NatsTransport {
  /** Fire-and-forget publish. Must never throw for a closed transport (drop instead). */
  publish(subject: string, data: Uint8Array, reply?: string): void;
  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription;
  /**
   * Request/reply with a single answer. Rejects with RequestTimeoutError after timeoutMs,
   * or NoRespondersError when the transport knows nobody listens, or NotConnectedError at
   * once while it is not connected (callers treat all alike: no answer).
   */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /**
   * Optional (the in-process connection to the embedded server): a SubjectGroup delivering
   * to `handler`, whose subjects are the keys of `subjects`. Without it, callers subscribe
   * each subject on its own.
   */
  subscribeGroup?(handler: MsgHandler, subjects: ReadonlyMap<string, unknown>): SubjectGroup;
  /**
   * Optional (the in-process connection to the embedded server): as subscribe(), the handler
   * taking each message as a byte range instead of a view (the publish subject: one typed-array
   * object less per published message, docs/performance.md "The publish path, round 3").
   */
  subscribeRange?(subject: string, handler: MsgRangeHandler): TransportSubscription;
  /**
   * Optional (the in-process connection): as publish() without a reply, for the bytes
   * buf[start, end), which must not be written again afterwards (the same rule as publish()'s
   * data). Spares the caller a view per message (every PubAck).
   */
  publishRange?(subject: string, buf: Uint8Array, start: number, end: number): void;
  /**
   * Optional (the in-process connection): as publishRange() for the messages
   * buf[bounds[i], bounds[i + 1]) with i in [from, to), all on `subject` (the PubAcks of one
   * commit group to one publisher's ack inbox): one subscription lookup for the run, not one
   * per message.
   */
  publishRun?(subject: string, buf: Uint8Array, bounds: ArrayLike<number>, from: number, to: number): void;
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
