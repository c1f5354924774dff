/**
 * What the server's routing knows about a subscriber: a socket client or an in-process
 * connection. Both implement `SubOwner`, so one publish path serves both and in-process
 * traffic skips protocol encoding entirely.
 */
import type { MsgHandler, MsgRangeHandler } from '../transport';
import type { SublistEntry } from './sublist';

export interface SubOwner {
  readonly cid: number;
  /** false = never deliver this connection's own publishes to it. */
  readonly echo: boolean;
  /** Per-connection counters, updated by the server's routing. */
  inMsgs: number;
  inBytes: number;
  outMsgs: number;
  outBytes: number;
  /**
   * Hands one message, the bytes buf[start, end), to this subscriber. `hdrLen` > 0 means they
   * start with a header block of that many bytes (HPUB); -1 (PUB) or 0 (empty header block)
   * means none, which is how the reference delivers `HPUB s 0 n` too (as MSG). A range, not a
   * view: a message published from a socket is the chunk it was read in, and every view made
   * per message was a typed-array object of garbage (docs/performance.md, "round 3").
   */
  deliver(sub: NatsSubscription, subject: string, reply: string | undefined, hdrLen: number, buf: Uint8Array, start: number, end: number): void;
  /** Removes a subscription (auto-unsubscribe reached its max). */
  removeSubscription(sub: NatsSubscription): void;
}

export class NatsSubscription implements SublistEntry {
  /** Set when removed, so a fan-out already in progress skips it. */
  closed = false;
  delivered = 0;
  /** Auto-unsubscribe after this many messages; 0 = unlimited. */
  max = 0;
  /** Pre-encoded ` <sid> ` for MSG lines (socket clients only). */
  sidBytes: Buffer | null = null;
  /**
   * Socket clients, literal subscriptions: `MSG <subject> <sid> ` encoded once, for the subject
   * string `lineSubject` (the same string object message after message: a publisher's ack
   * inbox, a subscriber's inbox), so a MSG line costs one short copy, not a character loop.
   */
  lineBytes: Buffer | null = null;
  lineSubject = '';
  /**
   * When set, messages whose subject it rejects are not delivered to this subscription
   * (a wildcard subscription overlapping its owner's subscribe deny list).
   */
  filter: ((subject: string) => boolean) | null = null;
  /** In-process subscriptions only, instead of `handler`: called with the message's byte range. */
  rangeHandler: MsgRangeHandler | null = null;

  constructor(
    readonly owner: SubOwner,
    readonly subject: string,
    readonly queue: string | undefined,
    readonly sid: string,
    /** In-process subscriptions only: called synchronously on delivery. */
    readonly handler: MsgHandler | null,
  ) {}
}
