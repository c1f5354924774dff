/**
 * Helpers of the durability and recovery tests (test/e2e/durability-*): clients that survive
 * a server restart, raw pings by connection ID, reading a whole channel back, an async
 * publisher that records every acknowledged payload, and checks on the one-line start-up
 * refusals of the executable.
 */
import assert from 'node:assert/strict';
import * as stanLib from 'node-nats-streaming';
import { PingCodec, PingResponseCodec } from '../../src/protocol/codec';
import type { Proc } from './proc';
import { rawNats, requestRaw } from './raw';
import { close, Collector, subscribe, type Message, type Stan } from './stan';

/**
 * Connects a node-nats-streaming client that keeps reconnecting its NATS connection quickly
 * and for long: it stays the same STAN client across a restart of the server on the same port.
 */
export function connectPersistent(url: string, clusterID: string, clientID: string, extra: Partial<stanLib.StanOptions> = {}): Promise<Stan> {
  return new Promise((resolve, reject) => {
    const sc = stanLib.connect(clusterID, clientID, {
      url,
      connectTimeout: 5000,
      reconnect: true,
      reconnectTimeWait: 100,
      maxReconnectAttempts: -1,
      ...extra,
    } as stanLib.StanOptions);
    const onErr = (e: unknown): void => {
      sc.removeAllListeners('connect');
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    sc.once('error', onErr);
    sc.once('connect', () => {
      sc.removeListener('error', onErr);
      sc.on('error', () => undefined);
      resolve(sc);
    });
  });
}

/** The client's underlying NATS connection is connected again (after a server restart). */
/**
 * Resolves on the next 'reconnect' of the client's NATS connection. Register it *before* the
 * server goes away: right after a restart `connected` may still be true on the dead socket,
 * and a publish written there is lost (the client then times out waiting for its ack).
 */
export function nextReconnect(sc: Stan): Promise<void> {
  const nc = (sc as unknown as { nc: { once(ev: 'reconnect', f: () => void): void } }).nc;
  return new Promise((resolve) => nc.once('reconnect', () => resolve()));
}

export function natsConnected(sc: Stan): boolean {
  const nc = (sc as unknown as { nc?: { connected?: boolean } }).nc;
  return nc?.connected === true;
}

/**
 * Sends a STAN ping (spec §3.1, protocol 1) for `connID` on a fresh NATS connection and
 * returns the server's answer: '' when the connection is known, else the error text.
 */
export async function rawPing(url: string, clusterID: string, connID: Uint8Array): Promise<string> {
  const nc = await rawNats(url);
  try {
    const reply = await requestRaw(nc, `_STAN.discover.${clusterID}.pings`, PingCodec.encode({ connID }), 3000);
    return reply.length === 0 ? '' : PingResponseCodec.decode(reply).error;
  } finally {
    await nc.close();
  }
}

/**
 * Reads a whole channel (DeliverAllAvailable) with a new client; expects exactly `count`
 * messages, then waits `settleMs` more so that a duplicate would show.
 */
export async function readAll(
  url: string,
  clusterID: string,
  channel: string,
  count: number,
  timeoutMs = 15000,
  { maxInFlight = 10_000, settleMs = 200 }: { maxInFlight?: number; settleMs?: number } = {},
): Promise<Message[]> {
  const sc = await connectPersistent(url, clusterID, `reader-${Math.random().toString(36).slice(2, 10)}`);
  try {
    const sub = await subscribe(sc, channel, sc.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(maxInFlight).setAckWait(60_000));
    const col = new Collector(sub, true);
    await col.waitFor(count, timeoutMs);
    // Nothing more than expected (a duplicate would show here).
    await new Promise((r) => setTimeout(r, settleMs));
    return col.msgs.slice();
  } finally {
    await close(sc);
  }
}

export interface AsyncPublishResult {
  /** Payloads whose publish got a positive PubAck. */
  acked: Set<string>;
  /** Payloads whose publish got an error (error PubAck, timeout, connection closed). */
  failed: Map<string, string>;
  sent: number;
}

/**
 * Publishes payloads `${prefix}${i}` (i from 1) asynchronously with at most `window` PubAcks
 * outstanding, until `n` are sent or `stop()` returns true. Resolves when every sent publish
 * has its answer (ack, error or timeout).
 */
export async function publishAsync(
  sc: Stan,
  subject: string,
  n: number,
  opts: {
    window: number;
    prefix?: string;
    stop?: () => boolean;
    payload?: (i: number) => string;
    onAck?: (payload: string) => void;
    /** Publish at most this many messages per second (0/undefined: as fast as acks allow). */
    ratePerSec?: number;
  },
): Promise<AsyncPublishResult> {
  const prefix = opts.prefix ?? 'p';
  const res: AsyncPublishResult = { acked: new Set(), failed: new Map(), sent: 0 };
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const settle = (): void => {
    outstanding--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const t0 = Date.now();
  for (let i = 1; i <= n; i++) {
    if (opts.stop?.()) break;
    const rate = opts.ratePerSec ?? 0;
    if (rate > 0) {
      const due = t0 + ((i - 1) * 1000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    while (outstanding >= opts.window) await new Promise<void>((r) => (wake = r));
    if (opts.stop?.()) break;
    const payload = opts.payload ? opts.payload(i) : `${prefix}${i}`;
    outstanding++;
    res.sent++;
    try {
      sc.publish(subject, payload, (err) => {
        // The client passes an error PubAck's text as a string, not as an Error.
        if (err) res.failed.set(payload, (err as unknown) instanceof Error ? err.message : String(err));
        else {
          res.acked.add(payload);
          opts.onAck?.(payload);
        }
        settle();
      });
    } catch (err) {
      res.failed.set(payload, err instanceof Error ? err.message : String(err));
      settle();
    }
    // Let acks in now and then.
    if (i % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  while (outstanding > 0) await new Promise<void>((r) => (wake = r));
  return res;
}

/** Asserts every acked payload appears exactly once in `msgs` and sequences are 1..n contiguous. */
export function assertAckedExactlyOnce(msgs: Message[], acked: Iterable<string>): void {
  const counts = new Map<string, number>();
  for (const m of msgs) {
    const d = String(m.getData());
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  const dups = [...counts].filter(([, c]) => c > 1).map(([d]) => d);
  assert.deepEqual(dups.slice(0, 10), [], 'no payload stored twice');
  const missing = [...acked].filter((p) => !counts.has(p));
  assert.deepEqual(missing.slice(0, 10), [], `every acked payload stored (${missing.length} missing)`);
  const seqs = msgs.map((m) => m.getSequence()).sort((a, b) => a - b);
  for (let i = 0; i < seqs.length; i++) assert.equal(seqs[i], i + 1, 'sequences contiguous from 1');
}

/**
 * A refused start: exit code non-zero, exactly one fatal line on stderr matching `re`,
 * nothing that looks like a stack trace on stdout or stderr.
 */
export function assertOneClearLine(proc: Proc, re: RegExp): string {
  assert.ok(proc.exit !== undefined, 'exited');
  assert.notEqual(proc.exit.code, 0, `non-zero exit\n${proc.output}`);
  assert.equal(proc.exit.signal, null, `exited by itself\n${proc.output}`);
  const all = [...proc.stdoutLines, ...proc.stderrLines];
  const stack = all.filter((l) => /^\s+at\s|\bError:.*\n\s+at\s|node:internal|\(\/.*\.js:\d+:\d+\)/.test(l));
  assert.deepEqual(stack, [], `no stack trace\n${proc.output}`);
  const fatal = proc.stderrLines.filter((l) => /\[FTL\]/.test(l));
  assert.equal(fatal.length, 1, `one fatal line\n${proc.output}`);
  assert.match(fatal[0], re, proc.output);
  assert.ok(fatal[0].length < 600, `one short line: ${fatal[0]}`);
  return fatal[0];
}

/**
 * Drops a client's NATS connection without a STAN close (the server still has it
 * registered). Unlike stan.ts's killNats, its outstanding publishes fail with an error:
 * the client library's cleanup otherwise calls their handlers with no error, which would
 * count them as acknowledged.
 */
export function dropClient(sc: Stan): void {
  const s = sc as unknown as { nc: { close(): void }; cleanupOnClose(err?: Error): void };
  sc.removeAllListeners('close');
  s.cleanupOnClose(new Error('connection dropped by the test'));
  s.nc.close();
}
