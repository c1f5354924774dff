/**
 * In-process NATS transport: the STAN core's connection to the embedded server without a
 * socket. Publishing is one sublist match plus, per subscriber, either a direct handler
 * call (in-process subscriber) or one append into a socket client's write buffer.
 * Subscriptions are sublist entries whose delivery calls the handler synchronously.
 *
 * Payloads handed to `publish()` may be referenced (not copied) by socket clients'
 * outbound queues until the next flush, so callers must not mutate them afterwards.
 */
import {
  NoRespondersError,
  RequestTimeoutError,
  type MsgHandler,
  type MsgRangeHandler,
  type NatsTransport,
  type SubjectGroup,
  type SubscribeOptions,
  type TransportSubscription,
} from '../transport';
import { subscriptionEntry, type ConnectionStats } from './host';
import { nuid } from './nuid';
import type { EmbeddedNatsServer, InProcessPeer } from './server';
import { isValidQueueName, isValidSubject } from '../../subject';
import { NatsSubscription, type SubOwner } from './subscription';
import type { Sublist } from './sublist';

interface PendingRequest {
  resolve(data: Uint8Array): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

/** The sublist entry is its own handle: one object per subscription, not two (60,000 ack inboxes at a restart). */
class InProcessSubscription extends NatsSubscription implements TransportSubscription {
  unsubscribe(): void {
    this.owner.removeSubscription(this);
  }
}

/**
 * A SubjectGroup: one sublist entry indexed under each of its subjects (Sublist.insertSubject),
 * so a subject costs one entry in the sublist's literal Map and no subscription object, sid or
 * Set entry of its own; the group's subjects are the keys of the caller's Map. `subject` is
 * only a label for logs; monitoring counts one subscription per subject.
 */
class InProcessSubjectGroup extends NatsSubscription implements SubjectGroup {
  constructor(
    private readonly conn: InProcessConnection,
    private readonly sublist: Sublist<NatsSubscription>,
    sid: string,
    handler: MsgHandler,
    private readonly subjects: ReadonlyMap<string, unknown>,
  ) {
    super(conn, '(subject group)', undefined, sid, handler);
  }

  add(subject: string): void {
    if (this.closed) throw new Error('nats: connection closed');
    if (!isValidSubject(subject)) throw new Error(`nats: invalid subject "${subject}"`);
    this.sublist.insertSubject(subject, this);
  }

  delete(subject: string): void {
    this.sublist.removeSubject(subject, this);
  }

  close(): void {
    this.conn.removeSubscription(this);
  }

  /** Every subject out of the sublist (the connection closes the group). */
  removeAll(): void {
    for (const subject of this.subjects.keys()) this.sublist.removeSubject(subject, this);
  }

  /** One /connz entry per subject, as separate subscriptions would show. */
  entries(): ConnectionStats['subscriptionsList'] {
    return [...this.subjects.keys()].map((subject) => ({ subject, sid: this.sid, msgs: this.delivered, max: 0 }));
  }
}

export class InProcessConnection implements NatsTransport, SubOwner, InProcessPeer {
  readonly cid: number;
  /** The in-process connection is its own connection: it sees its own publishes. */
  readonly echo = true;
  inMsgs = 0;
  inBytes = 0;
  outMsgs = 0;
  outBytes = 0;

  private isClosed = false;
  private readonly subs = new Set<NatsSubscription>();
  private readonly startTime = new Date();
  private sidSeq = 0;
  // Requests share one wildcard inbox subscription, so a request costs no sublist churn.
  private respPrefix = '';
  private respSub: NatsSubscription | null = null;
  private readonly pending = new Map<string, PendingRequest>();
  private reqSeq = 0;

  constructor(
    private readonly server: EmbeddedNatsServer,
    readonly name: string,
  ) {
    this.cid = server.nextCid();
    server.registerInProcess(this);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (this.isClosed) return;
    this.server.route(this, subject, reply, -1, data, 0, data.length);
  }

  publishRange(subject: string, buf: Uint8Array, start: number, end: number): void {
    if (this.isClosed) return;
    this.server.route(this, subject, undefined, -1, buf, start, end);
  }

  publishRun(subject: string, buf: Uint8Array, bounds: ArrayLike<number>, from: number, to: number): void {
    if (this.isClosed) return;
    this.server.routeRun(this, subject, buf, bounds, from, to);
  }

  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription {
    return this.addSubscription(subject, handler, null, opts?.queue);
  }

  subscribeRange(subject: string, handler: MsgRangeHandler): TransportSubscription {
    return this.addSubscription(subject, null, handler, undefined);
  }

  private addSubscription(subject: string, handler: MsgHandler | null, rangeHandler: MsgRangeHandler | null, queue: string | undefined): TransportSubscription {
    if (this.isClosed) throw new Error('nats: connection closed');
    if (!isValidSubject(subject)) throw new Error(`nats: invalid subject "${subject}"`);
    if (queue !== undefined && !isValidQueueName(queue)) throw new Error(`nats: invalid queue name "${queue}"`);
    const sub = new InProcessSubscription(this, subject, queue, String(++this.sidSeq), handler);
    sub.rangeHandler = rangeHandler;
    this.subs.add(sub);
    this.server.sublist.insert(sub);
    return sub;
  }

  subscribeGroup(handler: MsgHandler, subjects: ReadonlyMap<string, unknown>): SubjectGroup {
    if (this.isClosed) throw new Error('nats: connection closed');
    const group = new InProcessSubjectGroup(this, this.server.sublist, String(++this.sidSeq), handler, subjects);
    this.subs.add(group);
    return group;
  }

  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.isClosed) return Promise.reject(new Error('nats: connection closed'));
    if (this.respSub === null) {
      this.respPrefix = `_INBOX.${nuid()}.`;
      this.respSub = new NatsSubscription(this, `${this.respPrefix}*`, undefined, String(++this.sidSeq), this.onResponse);
      this.subs.add(this.respSub);
      this.server.sublist.insert(this.respSub);
    }
    const token = (++this.reqSeq).toString(36);
    return new Promise<Uint8Array>((resolve, reject) => {
      const entry: PendingRequest = { resolve, reject, timer: null };
      this.pending.set(token, entry);
      const n = this.server.route(this, subject, this.respPrefix + token, -1, data, 0, data.length);
      // An in-process responder may already have answered synchronously.
      if (!this.pending.has(token)) return;
      if (n === 0) {
        this.pending.delete(token);
        reject(new NoRespondersError(subject));
        return;
      }
      entry.timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new RequestTimeoutError(subject));
      }, timeoutMs);
    });
  }

  private readonly onResponse: MsgHandler = (subject, _reply, data) => {
    const token = subject.substring(this.respPrefix.length);
    const entry = this.pending.get(token);
    if (entry === undefined) return; // late answer after a timeout
    this.pending.delete(token);
    if (entry.timer !== null) clearTimeout(entry.timer);
    entry.resolve(data);
  };

  newInbox(): string {
    return `_INBOX.${nuid()}`;
  }

  flush(): Promise<void> {
    // Publishes are handed to the server synchronously; nothing is buffered here.
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.shutdown();
    return Promise.resolve();
  }

  /** Also called by the server when it shuts down. */
  shutdown(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const sub of this.subs) {
      sub.closed = true;
      if (sub instanceof InProcessSubjectGroup) sub.removeAll();
      else this.server.sublist.remove(sub);
    }
    this.subs.clear();
    this.respSub = null;
    for (const entry of this.pending.values()) {
      if (entry.timer !== null) clearTimeout(entry.timer);
      entry.reject(new Error('nats: connection closed'));
    }
    this.pending.clear();
    this.server.unregisterInProcess(this);
  }

  // ---- SubOwner --------------------------------------------------------------------

  deliver(sub: NatsSubscription, subject: string, reply: string | undefined, hdrLen: number, buf: Uint8Array, start: number, end: number): void {
    // Handlers take no headers; give them the body only.
    if (hdrLen > 0) start += hdrLen;
    try {
      const range = sub.rangeHandler;
      if (range !== null) {
        range(subject, reply, buf, start, end);
        return;
      }
      const handler = sub.handler;
      if (handler === null) return;
      // A whole buffer (an in-process publish) is handed on as it is: no view.
      handler(subject, reply, start === 0 && end === buf.length ? buf : buf.subarray(start, end));
    } catch (err) {
      // A failing handler must not break delivery to the other subscribers (or the
      // socket connection whose publish triggered it).
      this.server.logger.error(`In-process handler for "${sub.subject}" failed: ${(err as Error).stack ?? String(err)}`);
    }
  }

  removeSubscription(sub: NatsSubscription): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subs.delete(sub);
    if (sub instanceof InProcessSubjectGroup) sub.removeAll();
    else this.server.sublist.remove(sub);
  }

  snapshot(): ConnectionStats {
    const subs: ConnectionStats['subscriptionsList'] = [];
    for (const sub of this.subs) {
      if (sub instanceof InProcessSubjectGroup) for (const e of sub.entries()) subs.push(e);
      else subs.push(subscriptionEntry(sub));
    }
    return {
      cid: this.cid,
      kind: 'inprocess',
      ip: '',
      port: 0,
      start: this.startTime,
      lastActivity: new Date(),
      name: this.name,
      lang: 'ts-inprocess',
      version: '',
      subscriptions: subs.length,
      subscriptionsList: subs,
      pendingBytes: 0,
      inMsgs: this.inMsgs,
      outMsgs: this.outMsgs,
      inBytes: this.inBytes,
      outBytes: this.outBytes,
    };
  }
}

/** Opens an in-process connection to `server` (named `name` in monitoring). */
export function connectInProcess(server: EmbeddedNatsServer, name: string): NatsTransport & InProcessConnection {
  if (server.isClosed) throw new Error('nats: server is closed');
  return new InProcessConnection(server, name);
}
