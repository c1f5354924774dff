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
}

export function connect(url: string, clusterID: string, clientID: string, opts: ConnectOpts = {}): Promise<Stan> {
  return new Promise((resolve, reject) => {
    const sc = stanLib.connect(clusterID, clientID, { url, connectTimeout: 3000, ...opts } as stanLib.StanOptions);
    const onErr = (err: Error): void => {
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
    const onErr = (err: Error): void => reject(err);
    sub.once('error', onErr);
    sub.once('ready', () => {
      sub.removeListener('error', onErr);
      resolve(sub);
    });
  });
}

export function close(sc: Stan): Promise<void> {
  return new Promise((resolve) => {
    if (sc.isClosed()) return resolve();
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

/** Collects messages of a subscription; `next(n)` waits for n more (or times out). */
export class Collector {
  readonly msgs: Message[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(sub: Subscription, private readonly autoAck = true) {
    sub.on('message', (m: Message) => {
      this.msgs.push(m);
      if (this.autoAck) m.ack();
      this.waiters = this.waiters.filter((w) => {
        if (this.msgs.length >= w.n) {
          w.resolve();
          return false;
        }
        return true;
      });
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
