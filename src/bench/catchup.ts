/**
 * `npm run bench -- --catchup [N]`: a new subscriber catching up on stored messages.
 *
 * Per run: a fresh server and store; N messages published with our load generator (async,
 * 128 bytes); on FILE and SQL the server is restarted (every message cold, as for a service
 * coming back after an outage); then a new node-nats-streaming client subscribes with deliver-all, max in
 * flight 10,000 and manual acks, acking every message. The figure is N divided by the time
 * from subscribe to the N-th message received. The server's RSS is sampled every 20 ms while
 * it replays (peak and at the end), to see whether memory stays flat.
 *
 * The real Node client is used on purpose: it is what a catching-up service runs, and its
 * per-message cost is part of what the user sees (the reference was measured the same way).
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as stan from 'node-nats-streaming';
import { connect, nuid } from 'nats';
import type { Options } from './options';
import type { StoreEnv } from './env';
import { runLoadgen } from './loadrun';
import { RawStanClient } from './stan-raw';
import { LoadgenCatchupClient } from './catchup-loadgen';
import { printProfile } from './cpuprofile';
import { CLUSTER_ID, k, loadavg, mb, median, printTable, readCpuMs, readStatusKB, RunningServer, startServer, stopServer } from './server-proc';

const MAX_IN_FLIGHT = 10_000;
const REPLAY_TIMEOUT_MS = 600_000;

interface CatchupResult {
  rate: number;
  seconds: number;
  rssBeforeKB: number;
  peakRssKB: number;
  rssEndKB: number;
  /** Server CPU (user + system) from subscribe to the last message, per message: steadier than msgs/s on a loaded machine. */
  cpuUsPerMsg: number;
  /**
   * CPU of this process (the node-nats-streaming client, acking each message) over the same
   * span, per message: on a 2-core machine a client near one full core caps the figure,
   * whatever the server does.
   */
  clientUsPerMsg: number;
  /** Server and client CPU as a share of the span's wall time (100% = one core busy). */
  serverBusyPct: number;
  clientBusyPct: number;
  /** The server's main thread alone (the event loop; worker threads excluded), per message. */
  mainUsPerMsg: number;
  /** The client's check of the sequences received ('' if it does not check). */
  checked: string;
}

function connectStan(url: string): Promise<stan.Stan> {
  return new Promise((resolve, reject) => {
    const sc = stan.connect(CLUSTER_ID, `catchup-${nuid.next()}`, { url, maxPubAcksInflight: 16_384 });
    sc.once('connect', () => resolve(sc));
    sc.once('error', (err: Error) => reject(err));
  });
}

/** A connected subscriber-to-be: `start` subscribes (deliver all, ack each) and calls `onMsg` per message. */
interface CatchupClient {
  start(subject: string, onMsg: () => void, onError: (err: Error) => void): void;
  close(): Promise<void>;
  /** What the client checked about the sequences it got (the load generator's client), for the run's line. */
  check?(): string;
}

async function nodeClient(url: string): Promise<CatchupClient> {
  const sc = await connectStan(url);
  return {
    start(subject, onMsg, onError) {
      const opts = sc.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(MAX_IN_FLIGHT).setManualAckMode(true);
      const sub = sc.subscribe(subject, opts);
      sub.on('error', onError);
      sub.on('message', (m: stan.Message) => {
        m.ack();
        onMsg();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        sc.once('close', () => resolve());
        sc.close();
        setTimeout(resolve, 2_000).unref();
      }),
  };
}

/** The lighter client (stan-raw.ts on nats.js): same subscription, same ack per message. */
async function rawClient(url: string): Promise<CatchupClient> {
  const nc = await connect({ servers: url, maxReconnectAttempts: 0 });
  const c = await RawStanClient.connect(nc, `catchup-raw-${nuid.next()}`);
  return {
    start(subject, onMsg, onError) {
      c.startAcker(subject, { maxInFlight: MAX_IN_FLIGHT, ackWaitInSecs: 30 }, onMsg).catch(onError);
    },
    close: async () => {
      await c.close();
      await nc.close();
    },
  };
}

/**
 * The load generator's subscriber on a raw socket (catchup-loadgen.ts): `onMsg` per sequence
 * of 1..n received the first time; fails the run on a duplicate without the redelivered flag
 * or a sequence outside 1..n.
 */
async function loadgenClient(url: string, n: number): Promise<CatchupClient> {
  const c = await LoadgenCatchupClient.connect(url, CLUSTER_ID, `catchup-lg-${nuid.next()}`);
  return {
    start(subject, onMsg, onError) {
      c.start(subject, n, { maxInFlight: MAX_IN_FLIGHT, ackWaitInSecs: 30 }, onMsg, onError);
    },
    close: () => c.close(),
    check() {
      const r = c.result();
      if (r.duplicates > 0 || r.unexpected > 0) {
        throw new Error(`catch-up: ${r.duplicates} duplicate(s) without the redelivered flag, ${r.unexpected} unexpected sequence(s)`);
      }
      return `; sequences 1..${n} each received (${r.unique}), ${r.redelivered} redelivered`;
    },
  };
}

function catchupClient(kind: Options['catchupClient'], url: string, n: number): Promise<CatchupClient> {
  if (kind === 'raw') return rawClient(url);
  if (kind === 'loadgen') return loadgenClient(url, n);
  return nodeClient(url);
}

const CLIENT_LABEL: Record<Options['catchupClient'], string> = {
  node: 'node-nats-streaming',
  raw: 'raw client on nats.js',
  loadgen: 'the load generator on a raw socket',
};

/** Subscribes with deliver-all and acks every message; resolves when `n` were received. */
async function replay(s: RunningServer, subject: string, n: number, kind: Options['catchupClient']): Promise<CatchupResult> {
  const client = await catchupClient(kind, s.url, n);
  const rssBeforeKB = readStatusKB(s.pid, 'VmRSS');
  let peak = rssBeforeKB;
  const sampler = setInterval(() => {
    const v = readStatusKB(s.pid, 'VmRSS');
    if (v > peak) peak = v;
  }, 20);
  try {
    const t0 = performance.now();
    const cpu0 = readCpuMs(s.pid);
    const main0 = readCpuMs(s.pid, true);
    const client0 = process.cpuUsage();
    const seconds = await new Promise<number>((resolve, reject) => {
      let got = 0;
      const timer = setTimeout(() => reject(new Error(`catch-up: only ${got} of ${n} messages within ${REPLAY_TIMEOUT_MS / 1000} s`)), REPLAY_TIMEOUT_MS);
      client.start(
        subject,
        () => {
          if (++got === n) {
            clearTimeout(timer);
            resolve((performance.now() - t0) / 1000);
          }
        },
        reject,
      );
    });
    const serverMs = readCpuMs(s.pid) - cpu0;
    const mainMs = readCpuMs(s.pid, true) - main0;
    const used = process.cpuUsage(client0);
    const clientMs = (used.user + used.system) / 1000;
    const rssEndKB = readStatusKB(s.pid, 'VmRSS');
    return {
      rate: n / seconds,
      seconds,
      rssBeforeKB,
      peakRssKB: Math.max(peak, rssEndKB),
      rssEndKB,
      cpuUsPerMsg: (serverMs * 1000) / n,
      clientUsPerMsg: (clientMs * 1000) / n,
      serverBusyPct: serverMs / (seconds * 10),
      clientBusyPct: clientMs / (seconds * 10),
      mainUsPerMsg: (mainMs * 1000) / n,
      checked: client.check?.() ?? '',
    };
  } finally {
    clearInterval(sampler);
    await client.close();
  }
}

export async function runCatchup(o: Options, env: StoreEnv, log: (l: string) => void): Promise<void> {
  const n = o.catchup;
  log(`catch-up: ${n} stored ${o.size}-byte msgs, new subscriber (${CLIENT_LABEL[o.catchupClient]}, deliver all, max in flight ${MAX_IN_FLIGHT}, ack each)`);
  const results: CatchupResult[] = [];
  for (let i = 1; i <= o.runs; i++) {
    const inst = await env.fresh();
    const profileDir = o.profileDir ? path.join(o.profileDir, `${env.kind}-catchup-${i}`) : null;
    const persistent = env.kind !== 'memory';
    // Persistent stores: filled by one server, replayed by a restarted one, so every message
    // is cold (a service coming back after an outage) and a profile shows the replay alone.
    let s = await startServer({ args: [...inst.args, ...o.serverArgs], nodeArgs: o.nodeArgs, profileDir: persistent ? null : profileDir, bin: o.serverBin ?? undefined });
    try {
      const subject = `bench.catchup.${nuid.next()}`;
      await runLoadgen({ kind: 'ours', url: s.url, subject, msgs: n, pubs: 1, subs: 0, sync: false, size: o.size, mpa: o.mpa, stanBench: null });
      if (persistent) {
        await stopServer(s);
        s = await startServer({ args: [...inst.args, ...o.serverArgs], nodeArgs: o.nodeArgs, profileDir, timeoutMs: 120_000, bin: o.serverBin ?? undefined });
      }
      const la = loadavg();
      const r = await replay(s, subject, n, o.catchupClient);
      results.push(r);
      log(
        `  catch-up run ${i}: ${k(r.rate)} msgs/s (${r.seconds.toFixed(1)} s), server CPU ${r.cpuUsPerMsg.toFixed(1)} µs/msg (${r.serverBusyPct.toFixed(0)}% of a core; main thread ${r.mainUsPerMsg.toFixed(1)}), ` +
          `client CPU ${r.clientUsPerMsg.toFixed(1)} µs/msg (${r.clientBusyPct.toFixed(0)}%); server RSS before ${mb(r.rssBeforeKB)}, ` +
          `peak ${mb(r.peakRssKB)}, end ${mb(r.rssEndKB)}  load ${la}${r.checked}`,
      );
    } finally {
      await stopServer(s);
      await inst.close();
    }
    if (profileDir) printProfile(profileDir, log);
  }
  log('');
  const table = [
    ['store', 'stored msgs', 'msgs/s (median)', 'per run', 'seconds', 'server CPU µs/msg', 'client CPU µs/msg', 'RSS before', 'RSS peak'],
    [
      env.label,
      String(n),
      k(median(results.map((r) => r.rate))),
      results.map((r) => k(r.rate)).join(' / '),
      median(results.map((r) => r.seconds)).toFixed(1),
      median(results.map((r) => r.cpuUsPerMsg)).toFixed(1),
      median(results.map((r) => r.clientUsPerMsg)).toFixed(1),
      mb(median(results.map((r) => r.rssBeforeKB))),
      mb(median(results.map((r) => r.peakRssKB))),
    ],
  ];
  printTable(table, (c) => c >= 1 && c <= 4, log);
}
