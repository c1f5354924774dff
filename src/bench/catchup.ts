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
import { nuid } from 'nats';
import type { Options } from './options';
import type { StoreEnv } from './env';
import { runLoadgen } from './loadrun';
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
}

function connectStan(url: string): Promise<stan.Stan> {
  return new Promise((resolve, reject) => {
    const sc = stan.connect(CLUSTER_ID, `catchup-${nuid.next()}`, { url, maxPubAcksInflight: 16_384 });
    sc.once('connect', () => resolve(sc));
    sc.once('error', (err: Error) => reject(err));
  });
}

/** Subscribes with deliver-all and acks every message; resolves when `n` were received. */
async function replay(s: RunningServer, subject: string, n: number): Promise<CatchupResult> {
  const sc = await connectStan(s.url);
  const rssBeforeKB = readStatusKB(s.pid, 'VmRSS');
  let peak = rssBeforeKB;
  const sampler = setInterval(() => {
    const v = readStatusKB(s.pid, 'VmRSS');
    if (v > peak) peak = v;
  }, 20);
  try {
    const opts = sc.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(MAX_IN_FLIGHT).setManualAckMode(true);
    const t0 = performance.now();
    const cpu0 = readCpuMs(s.pid);
    const seconds = await new Promise<number>((resolve, reject) => {
      let got = 0;
      const timer = setTimeout(() => reject(new Error(`catch-up: only ${got} of ${n} messages within ${REPLAY_TIMEOUT_MS / 1000} s`)), REPLAY_TIMEOUT_MS);
      const sub = sc.subscribe(subject, opts);
      sub.on('error', (err: Error) => reject(err));
      sub.on('message', (m: stan.Message) => {
        m.ack();
        if (++got === n) {
          clearTimeout(timer);
          resolve((performance.now() - t0) / 1000);
        }
      });
    });
    const cpuUsPerMsg = ((readCpuMs(s.pid) - cpu0) * 1000) / n;
    const rssEndKB = readStatusKB(s.pid, 'VmRSS');
    return { rate: n / seconds, seconds, rssBeforeKB, peakRssKB: Math.max(peak, rssEndKB), rssEndKB, cpuUsPerMsg };
  } finally {
    clearInterval(sampler);
    await new Promise<void>((resolve) => {
      sc.once('close', () => resolve());
      sc.close();
      setTimeout(resolve, 2_000).unref();
    });
  }
}

export async function runCatchup(o: Options, env: StoreEnv, log: (l: string) => void): Promise<void> {
  const n = o.catchup;
  log(`catch-up: ${n} stored ${o.size}-byte msgs, new subscriber (node-nats-streaming, deliver all, max in flight ${MAX_IN_FLIGHT}, ack each)`);
  const results: CatchupResult[] = [];
  for (let i = 1; i <= o.runs; i++) {
    const inst = await env.fresh();
    const profileDir = o.profileDir ? path.join(o.profileDir, `${env.kind}-catchup-${i}`) : null;
    const persistent = env.kind !== 'memory';
    // Persistent stores: filled by one server, replayed by a restarted one, so every message
    // is cold (a service coming back after an outage) and a profile shows the replay alone.
    let s = await startServer({ args: [...inst.args, ...o.serverArgs], nodeArgs: o.nodeArgs, profileDir: persistent ? null : profileDir });
    try {
      const subject = `bench.catchup.${nuid.next()}`;
      await runLoadgen({ kind: 'ours', url: s.url, subject, msgs: n, pubs: 1, subs: 0, sync: false, size: o.size, mpa: o.mpa, stanBench: null });
      if (persistent) {
        await stopServer(s);
        s = await startServer({ args: [...inst.args, ...o.serverArgs], nodeArgs: o.nodeArgs, profileDir, timeoutMs: 120_000 });
      }
      const la = loadavg();
      const r = await replay(s, subject, n);
      results.push(r);
      log(
        `  catch-up run ${i}: ${k(r.rate)} msgs/s (${r.seconds.toFixed(1)} s), server CPU ${r.cpuUsPerMsg.toFixed(1)} µs/msg; server RSS before ${mb(r.rssBeforeKB)}, ` +
          `peak ${mb(r.peakRssKB)}, end ${mb(r.rssEndKB)}  load ${la}`,
      );
    } finally {
      await stopServer(s);
      await inst.close();
    }
    if (profileDir) printProfile(profileDir, log);
  }
  log('');
  const table = [
    ['store', 'stored msgs', 'msgs/s (median)', 'per run', 'seconds', 'server CPU µs/msg', 'RSS before', 'RSS peak'],
    [
      env.label,
      String(n),
      k(median(results.map((r) => r.rate))),
      results.map((r) => k(r.rate)).join(' / '),
      median(results.map((r) => r.seconds)).toFixed(1),
      median(results.map((r) => r.cpuUsPerMsg)).toFixed(1),
      mb(median(results.map((r) => r.rssBeforeKB))),
      mb(median(results.map((r) => r.peakRssKB))),
    ],
  ];
  printTable(table, (c) => c >= 1 && c <= 4, log);
}
