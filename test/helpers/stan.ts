/**
 * Promise wrappers around the real `node-nats-streaming` client (the one STAN users run), so
 * tests read top to bottom. Nothing here re-implements the protocol.
 */
import * as stanLib from 'node-nats-streaming';

export type Stan = stanLib.Stan;
export type Message = stanLib.Message;
export type Subscription = stanLib.Subscription;
export type SubscriptionOptions = stanLib.SubscriptionOptions;

export interface ConnectOpts {
  connectTimeout?: number;
  stanPingInterval?: number;
  stanMaxPingOut?: number;
  maxPubAcksInflight?: number;
  ackTimeout?: number;
  discoverPrefix?: string;
  /** Credentials, passed to the client's `nats` 1.x connection. */
  user?: string;
  pass?: string;
  token?: string;
  /** Passed to the underlying `nats` 1.x client: `true`, or tls.connect options (ca, cert, key). */
  tls?: boolean | { ca?: Buffer; cert?: Buffer; key?: Buffer };
  reconnect?: boolean;
}

export function connect(url: string, clusterID: string, clientID: string, opts: ConnectOpts = {}): Promise<Stan> {
  return new Promise((resolve, reject) => {
    const sc = stanLib.connect(clusterID, clientID, { url, connectTimeout: 3000, ...opts } as stanLib.StanOptions);
    const onErr = (e: unknown): void => {
      // The client emits server errors as plain strings.
      const err = e instanceof Error ? e : new Error(String(e));
      sc.removeAllListeners('connect');
      try {
        sc.close();
      } catch {
        // already closed
      }
      reject(err);
    };
    sc.once('error', onErr);
    sc.once('connect', () => {
      sc.removeListener('error', onErr);
      // Errors after connect are surfaced by the tests that expect them.
      sc.on('error', () => undefined);
      resolve(sc);
    });
  });
}

export function publish(sc: Stan, subject: string, data: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    sc.publish(subject, data, (err, guid) => (err ? reject(err) : resolve(guid)));
  });
}

export function subscribe(
  sc: Stan,
  subject: string,
  opts: SubscriptionOptions,
  qGroup?: string,
): Promise<Subscription> {
  return new Promise((resolve, reject) => {
    const sub = qGroup ? sc.subscribe(subject, qGroup, opts) : sc.subscribe(subject, opts);
    // The response and the first messages can arrive in one socket read: the client then
    // emits those messages before our promise continuation runs. Keep them for a Collector.
    const early: Message[] = [];
    const keep = (m: Message): void => {
      early.push(m);
    };
    sub.on('message', keep);
    earlyMessages.set(sub, { early, stop: () => sub.removeListener('message', keep) });
    const onErr = (e: unknown): void => reject(e instanceof Error ? e : new Error(String(e)));
    sub.once('error', onErr);
    sub.once('ready', () => {
      sub.removeListener('error', onErr);
      resolve(sub);
    });
  });
}

export function close(sc: Stan): Promise<void> {
  return new Promise((resolve) => {
    if ((sc as unknown as { isClosed(): boolean }).isClosed()) return resolve();
    sc.once('close', () => resolve());
    sc.close();
  });
}

/** Unsubscribe (durables deleted) or close (durables kept) and wait for the server's answer. */
export function endSub(sub: Subscription, how: 'unsubscribe' | 'close'): Promise<void> {
  return new Promise((resolve, reject) => {
    sub.once('error', reject);
    sub.once(how === 'close' ? 'closed' : 'unsubscribed', () => resolve());
    if (how === 'close') sub.close();
    else sub.unsubscribe();
  });
}

const earlyMessages = new WeakMap<Subscription, { early: Message[]; stop: () => void }>();

/**
 * Collects messages of a subscription (including those that arrived before the Collector was
 * attached, when the subscription came from `subscribe`); `waitFor(n)` waits for n in total.
 */
export class Collector {
  readonly msgs: Message[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(sub: Subscription, private readonly autoAck = true) {
    const e = earlyMessages.get(sub);
    if (e !== undefined) {
      e.stop();
      earlyMessages.delete(sub);
    }
    for (const m of e?.early ?? []) this.add(m);
    sub.on('message', (m: Message) => this.add(m));
  }

  private add(m: Message): void {
    this.msgs.push(m);
    if (this.autoAck) m.ack();
    this.waiters = this.waiters.filter((w) => {
      if (this.msgs.length >= w.n) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  waitFor(total: number, timeoutMs = 5000): Promise<Message[]> {
    if (this.msgs.length >= total) return Promise.resolve(this.msgs);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout: got ${this.msgs.length} of ${total} messages`)), timeoutMs);
      this.waiters.push({
        n: total,
        resolve: () => {
          clearTimeout(t);
          resolve(this.msgs);
        },
      });
    });
  }

  seqs(): number[] {
    return this.msgs.map((m) => m.getSequence());
  }
  datas(): string[] {
    return this.msgs.map((m) => String(m.getData()));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Subscribes expecting the server to refuse; resolves with the error text. */
export async function subscribeError(sc: Stan, subject: string, opts: SubscriptionOptions, qGroup?: string): Promise<string> {
  try {
    await subscribe(sc, subject, opts, qGroup);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error(`subscription to "${subject}" unexpectedly succeeded`);
}

/** Publishes expecting a PubAck error; resolves with its text. */
export async function publishError(sc: Stan, subject: string, data: string): Promise<string> {
  try {
    await publish(sc, subject, data);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error(`publish to "${subject}" unexpectedly succeeded`);
}

/** Publishes `n` messages `${prefix}1..n` in order, waiting for every PubAck. */
export async function publishN(sc: Stan, subject: string, n: number, prefix = 'm'): Promise<void> {
  for (let i = 1; i <= n; i++) await publish(sc, subject, `${prefix}${i}`);
}

/** Private fields of the node-nats-streaming client, to simulate broken clients. */
interface StanInternals {
  nc: { close(): void; unsubscribe(sid: number): void; flush(cb?: () => void): void };
  hbSubscription: number | null;
  /** Stops the client's ping timer and fails its pending publishes. */
  cleanupOnClose(err?: Error): void;
}

/** Closes the client's NATS connection without a STAN close: the server still has it registered. */
export function killNats(sc: Stan): void {
  const s = sc as unknown as StanInternals;
  sc.removeAllListeners('close');
  // Stop the STAN ping timer too: it would publish on the closed connection and throw.
  s.cleanupOnClose();
  s.nc.close();
}

/** Resolves once everything the client published (acks included) reached the NATS server. */
export function flushNats(sc: Stan): Promise<void> {
  const s = sc as unknown as StanInternals;
  return new Promise((resolve) => s.nc.flush(() => resolve()));
}

/** Makes the client stop answering server heartbeats (it keeps its NATS connection and pings). */
export function stopHeartbeats(sc: Stan): void {
  const s = sc as unknown as StanInternals;
  if (s.hbSubscription !== null) s.nc.unsubscribe(s.hbSubscription);
  s.hbSubscription = null;
}

/** Resolves with the first `event` of an emitter, or rejects after timeoutMs. */
export function waitEvent<T = unknown>(em: NodeJS.EventEmitter, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for "${event}"`)), timeoutMs);
    em.once(event, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

/** Subscription options from the client's defaults, adjusted by `f`. */
export function opts(sc: Stan, f: (o: SubscriptionOptions) => void = () => undefined): SubscriptionOptions {
  const o = sc.subscriptionOptions();
  f(o);
  return o;
}

/** Polls `pred` every 10 ms until it holds; rejects after timeoutMs. */
export async function until(pred: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

/** `until` for a condition that must ask something (a database) to answer. */
export async function untilAsync(pred: () => Promise<boolean>, timeoutMs = 3000, what = 'condition', intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** MsgProto.redeliveryCount (the client has the getter but its typings miss it). */
export function redeliveryCount(m: Message): number {
  return (m as unknown as { getRedeliveryCount(): number }).getRedeliveryCount();
}

/** [sequence, redelivered] of each message: what redelivery tests compare. */
export function flags(msgs: Message[]): Array<[number, boolean]> {
  return msgs.map((m) => [m.getSequence(), m.isRedelivered()]);
}
