/**
 * What the server's routing knows about a subscriber: a socket client or an in-process
 * connection. Both implement `SubOwner`, so one publish path serves both and in-process
 * traffic skips protocol encoding entirely.
 */
import type { MsgHandler } from '../transport';
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
   * Hands one message to this subscriber. `hdrLen` > 0 means `data` starts with a header
   * block of that many bytes (HPUB); -1 (PUB) or 0 (empty header block) means none, which
   * is how the reference delivers `HPUB s 0 n` too (as MSG).
   */
  deliver(sub: NatsSubscription, subject: string, reply: string | undefined, hdrLen: number, data: Uint8Array): void;
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
   * When set, messages whose subject it rejects are not delivered to this subscription
   * (a wildcard subscription overlapping its owner's subscribe deny list).
   */
  filter: ((subject: string) => boolean) | null = null;

  constructor(
    readonly owner: SubOwner,
    readonly subject: string,
    readonly queue: string | undefined,
    readonly sid: string,
    /** In-process subscriptions only: called synchronously on delivery. */
    readonly handler: MsgHandler | null,
  ) {}
}
