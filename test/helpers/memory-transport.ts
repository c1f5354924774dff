/**
 * An in-memory NatsTransport (src/nats/transport.ts) for unit tests of the STAN core: subjects
 * with `*` / `>` wildcards, request/reply through inboxes, no sockets. Messages are delivered
 * on a microtask, in publish order, as a network would deliver them after the call returns.
 * Request timeouts run on the injected clock.
 */
import { NoRespondersError, RequestTimeoutError, type MsgHandler, type NatsTransport, type SubscribeOptions, type TransportSubscription } from '../../src/nats/transport';
import { subjectMatches } from '../../src/subject/match';
import type { Clock } from '../../src/stan/clock';

interface Sub {
  subject: string;
  handler: MsgHandler;
}

export class MemoryTransport implements NatsTransport {
  private readonly subs = new Set<Sub>();
  private inboxSeq = 0;
  closed = false;
  /** Every publish, for assertions (subject and payload). */
  readonly published: Array<{ subject: string; data: Uint8Array }> = [];

  constructor(private readonly clock: Clock) {}

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (this.closed) return;
    this.published.push({ subject, data });
    const targets = [...this.subs].filter((s) => subjectMatches(s.subject, subject));
    const copy = Buffer.from(data);
    queueMicrotask(() => {
      for (const s of targets) if (this.subs.has(s)) s.handler(subject, reply, copy);
    });
  }

  subscribe(subject: string, handler: MsgHandler, _opts?: SubscribeOptions): TransportSubscription {
    const s: Sub = { subject, handler };
    this.subs.add(s);
    return { unsubscribe: () => void this.subs.delete(s) };
  }

  hasInterest(subject: string): boolean {
    for (const s of this.subs) if (subjectMatches(s.subject, subject)) return true;
    return false;
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (!this.hasInterest(subject)) return Promise.reject(new NoRespondersError(subject));
    const inbox = this.newInbox();
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        sub.unsubscribe();
        reject(new RequestTimeoutError(subject));
      }, timeoutMs);
      const sub = this.subscribe(inbox, (_s, _r, reply) => {
        this.clock.clearTimeout(timer);
        sub.unsubscribe();
        resolve(reply);
      });
      this.publish(subject, data, inbox);
    });
  }

  newInbox(): string {
    return `_INBOX.mem${++this.inboxSeq}`;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    this.subs.clear();
    return Promise.resolve();
  }
}
