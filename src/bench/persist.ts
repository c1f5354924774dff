/**
 * Persistent-store scenarios of `npm run bench` (FILE and SQL stores):
 *
 *   --recovery N   store N messages across --recovery-channels channels (our load generator),
 *                  then restart the server: a crash (SIGKILL) right after the fill (worst
 *                  case: no snapshot yet), then a clean stop (SIGINT, final snapshot) twice; print spawn → "Streaming Server is ready" and → first
 *                  STAN connect, and the RSS after recovery (payloads must not be loaded).
 *   --scale        1,000 channels and 100,000 subscriptions (durable, queue, durable queue)
 *                  created by 100 raw STAN clients; restart; recovery time; then a publish
 *                  flood while the server runs with -hbi 1s -hbt 1s -hbf 2: every client must
 *                  keep getting (and answering) heartbeats and still be known to the server.
 *   --soak S       steady publish + ack load for S seconds with -mm N; row counts of
 *                  stan_messages / stan_events / stan_snapshots every 5 s (compaction).
 */
import { performance } from 'node:perf_hooks';
import { connect, NatsConnection } from 'nats';
import type { Options } from './options';
import type { StoreEnv, StoreInstance, RowCounts } from './env';
import { parseReport, runLoadgen } from './loadrun';
import { k, loadavg, mb, printTable, readStatusKB, RunningServer, sleep, startServer, stopServer } from './server-proc';
import { RawStanClient } from './stan-raw';
import { errorText } from '../errors';

type Log = (l: string) => void;

const RECOVERY_TIMEOUT_MS = 600_000;
const HB_FLAGS = ['-hbi', '1s', '-hbt', '1s', '-hbf', '2'];

function fmtMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

function countsLine(c: RowCounts | null): string {
  return c === null ? 'n/a' : `messages ${c.messages}, events ${c.events}, snapshots ${c.snapshots}`;
}

async function connectNats(url: string): Promise<NatsConnection> {
  return connect({
    servers: url,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
    pingInterval: 60_000,
    timeout: 10_000,
  });
}

interface Restart {
  how: string;
  logReadyMs: number;
  stanReadyMs: number;
  /** Server CPU time (user + system) until the first answered STAN connect. */
  cpuMs: number;
  rssKB: number;
}

async function restart(
  s: RunningServer,
  args: string[],
  how: 'SIGINT' | 'SIGKILL',
  keepPort: boolean,
  profileDir: string | null,
): Promise<{ server: RunningServer; r: Restart; stopMs: number }> {
  const t0 = performance.now();
  await stopServer(s, how);
  const stopMs = performance.now() - t0;
  // --profile: the restarted server writes a CPU profile (recovery included) when it stops.
  const server = await startServer({ args, port: keepPort ? s.port : undefined, timeoutMs: RECOVERY_TIMEOUT_MS, profileDir });
  await sleep(200);
  return {
    server,
    stopMs,
    r: { how: how === 'SIGINT' ? 'clean stop (SIGINT)' : 'crash (SIGKILL)', logReadyMs: server.logReadyMs, stanReadyMs: server.stanReadyMs, cpuMs: server.cpuAtReadyMs, rssKB: readStatusKB(server.pid, 'VmRSS') },
  };
}

// ---------------------------------------------------------------------------------------------

export async function runRecovery(o: Options, env: StoreEnv, log: Log): Promise<void> {
  const inst = await env.fresh();
  const args = [...inst.args, ...o.serverArgs];
  log('');
  log(`== recovery: ${o.recovery} messages of ${o.size} bytes across ${o.recoveryChannels} channels, ${env.label} (load ${loadavg()})`);
  let s = await startServer({ args, timeoutMs: RECOVERY_TIMEOUT_MS });
  const emptyStart: Restart = { how: 'empty store (first start)', logReadyMs: s.logReadyMs, stanReadyMs: s.stanReadyMs, cpuMs: s.cpuAtReadyMs, rssKB: s.idleRssKB };
  try {
    const per = Math.ceil(o.recovery / o.recoveryChannels);
    const t0 = performance.now();
    const outs = await Promise.all(
      Array.from({ length: o.recoveryChannels }, (_v, i) =>
        runLoadgen({ kind: 'ours', url: s.url, subject: `recovery.${i}`, msgs: per, pubs: 1, subs: 0, sync: false, size: o.size, mpa: 4096, stanBench: null, clientID: `recovery-fill-${i}` }),
      ),
    );
    const fillS = (performance.now() - t0) / 1000;
    const rate = outs.map((x) => parseReport(x).pub).reduce((a, b) => a + b, 0);
    log(`  stored ${per * o.recoveryChannels} msgs in ${fillS.toFixed(1)} s (${k(rate)} msgs/s summed over ${o.recoveryChannels} publishers); server RSS ${mb(readStatusKB(s.pid, 'VmRSS'))}`);
    // A few durable subscriptions with progress, so recovery has subscription state too.
    const nc = await connectNats(s.url);
    const c = await RawStanClient.connect(nc, 'recovery-durables');
    for (let i = 0; i < o.recoveryChannels; i++) {
      await c.subscribe({ subject: `recovery.${i}`, inbox: `_INBOX.recovery.none.${i}`, durableName: 'dur', startPosition: 0, maxInFlight: 1 });
    }
    await c.close();
    await nc.close();
    log(`  rows: ${countsLine(await inst.counts())}`);
    const results: Restart[] = [emptyStart];
    // Crash first: no snapshot has been written since the fill (messages are not events), so
    // recovery has to read every message row's (seq, ts, size): the worst case. Then clean
    // stops, which snapshot at shutdown.
    for (const how of ['SIGKILL', 'SIGINT', 'SIGINT'] as const) {
      const r = await restart(s, args, how, false, o.profileDir);
      s = r.server;
      results.push(r.r);
      log(`  after ${r.r.how} (stop took ${fmtMs(r.stopMs)}): ready line ${fmtMs(r.r.logReadyMs)}, STAN connect ${fmtMs(r.r.stanReadyMs)} (server CPU ${fmtMs(r.r.cpuMs)}), RSS ${mb(r.r.rssKB)}; rows: ${countsLine(await inst.counts())}`);
    }
    log('');
    log(`recovery of ${o.recovery} msgs (${env.label}); goal: < 1 s to ready with 1,000,000 (issue 12; < 2 s in the first issue), payloads not loaded (reference: ~0.07 s per 100k msgs)`);
    const table = [['restart', 'spawn -> "Streaming Server is ready"', 'spawn -> first STAN connect', 'server CPU until then', 'RSS after recovery']];
    for (const r of results) table.push([r.how, fmtMs(r.logReadyMs), fmtMs(r.stanReadyMs), fmtMs(r.cpuMs), mb(r.rssKB)]);
    printTable(table, (col) => col > 0, log);
  } finally {
    await stopServer(s);
    await inst.close();
  }
}

// ---------------------------------------------------------------------------------------------

/** Runs `n` async tasks with at most `limit` in flight. */
async function pool(n: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

interface HbReport {
  minHb: number;
  maxGapMs: number;
  silentNow: number;
}

function hbReport(clients: RawStanClient[]): HbReport {
  const now = Date.now();
  return {
    minHb: Math.min(...clients.map((c) => c.hbCount)),
    maxGapMs: Math.max(...clients.map((c) => Math.max(c.maxHbGapMs, c.sinceLastHbMs(now)))),
    silentNow: clients.filter((c) => c.sinceLastHbMs(now) > 3000).length,
  };
}

async function aliveCount(clients: RawStanClient[], subject: string): Promise<{ alive: number; errors: string[] }> {
  const errors: string[] = [];
  let alive = 0;
  await pool(clients.length, 50, async (i) => {
    const err = await clients[i].publishOnce(subject, new Uint8Array(8)).catch((e: unknown) => `request failed: ${errorText(e)}`);
    if (err === '') alive++;
    else if (errors.length < 3) errors.push(`${clients[i].clientID}: ${err}`);
  });
  return { alive, errors };
}

export async function runScale(o: Options, env: StoreEnv, log: Log): Promise<void> {
  // Kept whole (~90 lines): the scale run as one script of steps (fill, restart, measure, report).
  const inst: StoreInstance = await env.fresh();
  const args = [...inst.args, '-mc', '0', ...HB_FLAGS, ...o.serverArgs];
  const nClients = 100;
  const perClient = Math.ceil(o.scaleSubs / nClients);
  const total = nClients * perClient;
  log('');
  log(
    `== scale: ${o.scaleChannels} channels, ${total} subscriptions (${nClients} clients x ${perClient}: 1/2 durable, 1/4 queue, 1/4 durable queue), ` +
      `server -mc 0 ${HB_FLAGS.join(' ')}, ${env.label} (load ${loadavg()})`,
  );
  let s = await startServer({ args, timeoutMs: RECOVERY_TIMEOUT_MS });
  const conns: NatsConnection[] = [];
  const clients: RawStanClient[] = [];
  try {
    for (let i = 0; i < 4; i++) conns.push(await connectNats(s.url));
    for (let c = 0; c < nClients; c++) clients.push(await RawStanClient.connect(conns[c % conns.length], `scale-${c}`));
    const t0 = performance.now();
    let failed = 0;
    let firstErr = '';
    await pool(total, 2000, async (i) => {
      const c = Math.floor(i / perClient);
      const j = i % perClient;
      const channel = `scale.${(c * 31 + j) % o.scaleChannels}`;
      const kind = j % 4;
      const req =
        kind < 2
          ? { durableName: `d${j}` }
          : kind === 2
            ? { qGroup: `q${c % 10}` }
            : { qGroup: `dq${c % 10}`, durableName: `dq${c % 10}` };
      try {
        await clients[c].subscribe({ subject: channel, inbox: `_INBOX.scale.${c}.${j}`, startPosition: 0, ...req });
      } catch (e) {
        failed++;
        if (firstErr === '') firstErr = errorText(e);
      }
    });
    const createS = (performance.now() - t0) / 1000;
    const hbCreate = hbReport(clients);
    log(
      `  created ${total - failed}/${total} subscriptions in ${createS.toFixed(1)} s (${k((total - failed) / createS)}/s)` +
        (failed ? ` — ${failed} failed, first: ${firstErr}` : '') +
        `; heartbeats meanwhile: max gap ${fmtMs(hbCreate.maxGapMs)}; server RSS ${mb(readStatusKB(s.pid, 'VmRSS'))}`,
    );
    log(`  rows: ${countsLine(await inst.counts())}`);
    const results: Restart[] = [];
    for (const how of ['SIGINT', 'SIGKILL'] as const) {
      const r = await restart(s, args, how, true, o.profileDir);
      s = r.server;
      results.push(r.r);
      log(`  after ${r.r.how} (stop took ${fmtMs(r.stopMs)}): ready line ${fmtMs(r.r.logReadyMs)}, STAN connect ${fmtMs(r.r.stanReadyMs)} (server CPU ${fmtMs(r.r.cpuMs)}), RSS ${mb(r.r.rssKB)}`);
    }
    // The raw clients' NATS connections reconnect to the restarted server (same port) and
    // answer the heartbeats of their recovered client records.
    await sleep(2500);
    for (const c of clients) c.resetHbStats();
    await sleep(1500);
    const before = await aliveCount(clients, 'scale.check');
    const floodMsgs = env.kind === 'file' ? 300_000 : 200_000;
    log(`  after restart: ${before.alive}/${nClients} clients known to the server${before.errors.length ? ` (${before.errors.join('; ')})` : ''}; publish flood of ${floodMsgs} msgs (4 publishers) …`);
    for (const c of clients) c.resetHbStats();
    const tf = performance.now();
    const out = await runLoadgen({ kind: 'ours', url: s.url, subject: 'scale.flood', msgs: floodMsgs, pubs: 4, subs: 0, sync: false, size: o.size, mpa: 4096, stanBench: null });
    const floodS = (performance.now() - tf) / 1000;
    const hb = hbReport(clients);
    await sleep(500);
    const after = await aliveCount(clients, 'scale.check');
    log('');
    log(`scale (${env.label}), server ${HB_FLAGS.join(' ')}`);
    const table = [
      ['what', 'result'],
      ['subscriptions created', `${total - failed} in ${createS.toFixed(1)} s`],
      ...results.map((r) => [`recovery after ${r.how}`, `ready ${fmtMs(r.logReadyMs)}, STAN connect ${fmtMs(r.stanReadyMs)} (server CPU ${fmtMs(r.cpuMs)}), RSS ${mb(r.rssKB)}`]),
      ['publish flood (store busy)', `${floodMsgs} msgs in ${floodS.toFixed(1)} s, ${k(parseReport(out).pub)} msgs/s`],
      ['heartbeats during flood', `every client answered >= ${hb.minHb}; max gap ${fmtMs(hb.maxGapMs)} (hbi 1 s; dropped after ~3 s of failures)`],
      ['clients still known after flood', `${after.alive}/${nClients}${after.alive === nClients ? ' (none dropped)' : ` DROPPED ${nClients - after.alive}: ${after.errors.join('; ')}`}`],
    ];
    printTable(table, () => false, log);
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    for (const nc of conns) await nc.close().catch(() => undefined);
    await stopServer(s);
    await inst.close();
  }
}

// ---------------------------------------------------------------------------------------------

export async function runSoak(o: Options, env: StoreEnv, log: Log): Promise<void> {
  const inst = await env.fresh();
  const args = [...inst.args, '-mm', String(o.soakMaxMsgs), ...o.serverArgs];
  log('');
  log(`== soak: ${o.soak} s of publish + ack (1 publisher, window 1024; 1 durable subscriber acking), -mm ${o.soakMaxMsgs}, ${env.label} (load ${loadavg()})`);
  const s = await startServer({ args, timeoutMs: RECOVERY_TIMEOUT_MS });
  const nc = await connectNats(s.url);
  const rows: string[][] = [['t', 'published', 'msgs/s', 'delivered', 'stan_messages', 'stan_events', 'stan_snapshots', 'server RSS', 'load']];
  try {
    const pubClient = await RawStanClient.connect(nc, 'soak-pub');
    const subClient = await RawStanClient.connect(nc, 'soak-sub');
    const acker = await subClient.startAcker('soak', { durableName: 'soak', maxInFlight: 1024 });
    const pub = pubClient.startPublisher('soak', o.size, 1024);
    const t0 = performance.now();
    let lastAcked = 0;
    let lastT = t0;
    const every = 5_000;
    for (;;) {
      await sleep(every - ((performance.now() - t0) % every));
      const now = performance.now();
      const acked = pub.acked();
      const c = await inst.counts().catch(() => null);
      const t = (now - t0) / 1000;
      rows.push([
        `${t.toFixed(0)} s`,
        String(acked),
        k((acked - lastAcked) / ((now - lastT) / 1000)),
        String(acker.received()),
        c ? String(c.messages) : '?',
        c ? String(c.events) : '?',
        c ? String(c.snapshots) : '?',
        mb(readStatusKB(s.pid, 'VmRSS')),
        loadavg().split(' ')[0],
      ]);
      log(`  ${rows[rows.length - 1].join('  ')}`);
      lastAcked = acked;
      lastT = now;
      if (t >= o.soak) break;
    }
    await pub.stop();
    acker.stop();
    log('');
    log(
      `soak (${env.label}, -mm ${o.soakMaxMsgs}): snapshot every 50,000 events or 5 min; events made obsolete by a snapshot ` +
        `are deleted with it. error PubAcks: ${pub.errors()}`,
    );
    printTable(rows, (col) => col >= 1 && col <= 6, log);
    await pubClient.close();
    await subClient.close();
  } finally {
    await nc.close().catch(() => undefined);
    await stopServer(s);
    log(`  after clean stop: ${countsLine(await inst.counts().catch(() => null))}`);
    await inst.close();
  }
}
