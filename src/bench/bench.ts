/**
 * `npm run bench`: throughput, start-up time and memory of the server executable.
 *
 * Every run spawns `node bin/nats-streaming-server.js -p <free port> -cid test-cluster` (MEMORY
 * store, reference default limits: 1,000,000 msgs / 1 GB per channel, so 100k msgs fit) as its
 * own process, measures spawn → first accepted TCP connection and spawn → first successful STAN
 * connect, runs one scenario with a load generator in another process, samples the server's RSS
 * (/proc/<pid>/status VmRSS every 20 ms, and VmHWM at the end), and stops the server.
 *
 *   npm run bench -- [--runs 3] [--msgs 100000] [--sync-msgs 5000] [--scenario NAME[,NAME]]
 *                    [--stan-bench PATH | env STAN_BENCH] [--both] [--mpa N] [--warm]
 *                    [--profile DIR] [--server-arg ARG]...
 *
 * Load generators: ours (dist/src/bench/loadgen.js, stan-bench compatible) by default; the Go
 * `stan-bench` with --stan-bench PATH (or STAN_BENCH); both side by side with --both.
 * --warm: one server per scenario and load generator, one unmeasured warm-up run, then the
 * measured runs on fresh channels (steady-state JIT); default is a fresh server per run.
 * --profile DIR: the server runs under `node --cpu-prof`; a self-time summary is printed.
 */
import { PACKAGE_ROOT } from '../paths';
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, nuid } from 'nats';
import { ConnectRequestCodec, ConnectResponseCodec, CloseRequestCodec } from '../protocol/codec';
import { formatSummary, summariseFile } from './cpuprofile';
import { STAN_BENCH_DEFAULT_MPA } from './loadgen';

const ROOT = PACKAGE_ROOT;
const SERVER_BIN = path.join(ROOT, 'bin', 'nats-streaming-server.js');
const LOADGEN = path.join(__dirname, 'loadgen.js');
const CLUSTER_ID = 'test-cluster';
const STARTUP_TIMEOUT_MS = 20_000;
const RUN_TIMEOUT_MS = 180_000;

interface Scenario {
  name: string;
  title: string;
  pubs: number;
  subs: number;
  sync: boolean;
  reference: string;
}

const SCENARIOS: Scenario[] = [
  { name: 'async', title: 'async publish, 1 pub', pubs: 1, subs: 0, sync: false, reference: 'pub 270k-290k' },
  { name: 'async4', title: 'async publish, 4 pubs', pubs: 4, subs: 0, sync: false, reference: 'pub ~310k' },
  { name: 'pubsub', title: 'pub + sub (1+1)', pubs: 1, subs: 1, sync: false, reference: 'pub & sub 150k-190k each' },
  { name: 'sync', title: 'sync publish, 1 pub', pubs: 1, subs: 0, sync: true, reference: 'pub 8k-25k' },
];

type LoadgenKind = 'ours' | 'stan-bench';

interface Options {
  runs: number;
  msgs: number;
  syncMsgs: number;
  size: number;
  scenarios: Scenario[];
  stanBench: string | null;
  loadgens: LoadgenKind[];
  mpa: number;
  warm: boolean;
  profileDir: string | null;
  serverArgs: string[];
}

function usage(): string {
  return (
    'usage: npm run bench -- [--runs N] [--msgs N] [--sync-msgs N] [--size BYTES] [--scenario ' +
    `${SCENARIOS.map((s) => s.name).join('|')}[,...]] [--stan-bench PATH] [--both] [--mpa N] [--warm] ` +
    '[--profile DIR] [--server-arg ARG]...'
  );
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    runs: 3,
    msgs: 100_000,
    syncMsgs: 5_000,
    size: 128,
    scenarios: SCENARIOS,
    stanBench: process.env.STAN_BENCH || null,
    loadgens: [],
    mpa: STAN_BENCH_DEFAULT_MPA,
    warm: false,
    profileDir: null,
    serverArgs: [],
  };
  let both = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${usage()}`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: not a positive integer: ${v}`);
      return n;
    };
    switch (flag) {
      case '--runs':
        o.runs = int();
        break;
      case '--msgs':
        o.msgs = int();
        break;
      case '--sync-msgs':
        o.syncMsgs = int();
        break;
      case '--size':
        o.size = int();
        break;
      case '--mpa':
        o.mpa = int();
        break;
      case '--scenario': {
        const names = value().split(',');
        o.scenarios = names.map((n) => {
          const s = SCENARIOS.find((x) => x.name === n);
          if (!s) throw new Error(`unknown scenario "${n}" (${SCENARIOS.map((x) => x.name).join(', ')})`);
          return s;
        });
        break;
      }
      case '--stan-bench':
        o.stanBench = value();
        break;
      case '--both':
        both = true;
        break;
      case '--warm':
        o.warm = true;
        break;
      case '--profile':
        o.profileDir = path.resolve(value());
        break;
      case '--server-arg':
        o.serverArgs.push(value());
        break;
      case '-h':
      case '--help':
        process.stdout.write(`${usage()}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a}\n${usage()}`);
    }
  }
  if (o.stanBench && !fs.existsSync(o.stanBench)) throw new Error(`stan-bench not found: ${o.stanBench}`);
  if (both && !o.stanBench) throw new Error('--both needs --stan-bench PATH (or STAN_BENCH)');
  o.loadgens = both ? ['ours', 'stan-bench'] : o.stanBench ? ['stan-bench'] : ['ours'];
  return o;
}

// ---------------------------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tryTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function tryStanConnect(url: string): Promise<boolean> {
  let nc;
  try {
    nc = await connect({ servers: url, maxReconnectAttempts: 0, timeout: 1000 });
  } catch {
    return false;
  }
  try {
    const clientID = `bench-probe-${nuid.next()}`;
    const req = ConnectRequestCodec.encode({ clientID, heartbeatInbox: `_INBOX.${nuid.next()}` });
    const reply = await nc.request(`_STAN.discover.${CLUSTER_ID}`, req, { timeout: 500 });
    const resp = ConnectResponseCodec.decode(reply.data);
    if (resp.error) return false;
    await nc.request(resp.closeRequests, CloseRequestCodec.encode({ clientID }), { timeout: 2000 }).catch(() => undefined);
    return true;
  } catch {
    return false;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

function readStatusKB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

interface RunningServer {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  tcpReadyMs: number;
  stanReadyMs: number;
  idleRssKB: number;
  output: () => string;
}

async function startServer(o: Options, profileDir: string | null): Promise<RunningServer> {
  const port = await freePort();
  const nodeArgs: string[] = [];
  if (profileDir) {
    fs.mkdirSync(profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const args = [...nodeArgs, SERVER_BIN, '-p', String(port), '-cid', CLUSTER_ID, ...o.serverArgs];
  let out = '';
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer): void => {
    out = (out + b.toString('utf8')).slice(-8192);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let exited: string | null = null;
  proc.once('exit', (code, sig) => (exited = `server exited (code ${code}, signal ${sig})`));
  const fail = (msg: string): never => {
    proc.kill('SIGKILL');
    throw new Error(`${msg}\n--- server output ---\n${out}`);
  };
  let tcpReadyMs = 0;
  for (;;) {
    if (exited) fail(exited);
    if (performance.now() - t0 > STARTUP_TIMEOUT_MS) fail('server did not accept TCP connections in time');
    if (await tryTcp(port)) {
      tcpReadyMs = performance.now() - t0;
      break;
    }
    await sleep(2);
  }
  const url = `nats://127.0.0.1:${port}`;
  let stanReadyMs = 0;
  for (;;) {
    if (exited) fail(exited);
    if (performance.now() - t0 > STARTUP_TIMEOUT_MS) fail('server did not accept a STAN connect in time');
    if (await tryStanConnect(url)) {
      stanReadyMs = performance.now() - t0;
      break;
    }
    await sleep(2);
  }
  const pid = proc.pid ?? 0;
  return { proc, pid, port, url, tcpReadyMs, stanReadyMs, idleRssKB: readStatusKB(pid, 'VmRSS'), output: () => out };
}

async function stopServer(s: RunningServer): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => s.proc.once('exit', () => resolve()));
  s.proc.kill('SIGINT');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------

interface RunResult {
  pub: number;
  sub: number;
  total: number;
  peakRssKB: number;
  wallMs: number;
}

function runLoadgen(o: Options, kind: LoadgenKind, sc: Scenario, url: string, subject: string, msgs: number): Promise<string> {
  const args = ['-s', url, '-c', CLUSTER_ID, '-np', String(sc.pubs), '-ns', String(sc.subs), '-n', String(msgs), '-ms', String(o.size)];
  args.push('-mpa', String(o.mpa));
  if (sc.sync) args.push('-sync');
  args.push(subject);
  const [cmd, full] =
    kind === 'ours' ? [process.execPath, [LOADGEN, ...args]] : [o.stanBench ?? 'stan-bench', args];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    p.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const timer = setTimeout(() => p.kill('SIGKILL'), RUN_TIMEOUT_MS);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${kind} exited with code ${code}:\n${out}`));
    });
  });
}

/** Parses stan-bench style report lines (ours prints the same). */
export function parseReport(out: string): { pub: number; sub: number; total: number } {
  const rate = (label: string): number => {
    const m = new RegExp(`^\\s*${label} stats: ([\\d,.]+) msgs/sec`, 'm').exec(out);
    return m ? Number(m[1].replace(/,/g, '')) : 0;
  };
  const pub = rate('Pub');
  const sub = rate('Sub');
  const both = rate('NATS Streaming Pub/Sub');
  if (pub === 0 && sub === 0) throw new Error(`no stats in load generator output:\n${out}`);
  return { pub, sub, total: both || pub || sub };
}

async function measure(o: Options, kind: LoadgenKind, sc: Scenario, s: RunningServer, subject: string): Promise<RunResult> {
  let peak = 0;
  const sampler = setInterval(() => {
    const v = readStatusKB(s.pid, 'VmRSS');
    if (v > peak) peak = v;
  }, 20);
  const t0 = performance.now();
  try {
    const out = await runLoadgen(o, kind, sc, s.url, subject, sc.sync ? o.syncMsgs : o.msgs);
    const r = parseReport(out);
    peak = Math.max(peak, readStatusKB(s.pid, 'VmRSS'));
    return { ...r, peakRssKB: peak, wallMs: performance.now() - t0 };
  } finally {
    clearInterval(sampler);
  }
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const k = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0));
const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

interface Row {
  sc: Scenario;
  kind: LoadgenKind;
  runs: RunResult[];
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ missing: run `npm run build`');
  const startups: { tcp: number; stan: number; idleRss: number; hwm: number }[] = [];
  const rows: Row[] = [];
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(
    `server: node ${path.relative(process.cwd(), SERVER_BIN)} -p <free port> -cid ${CLUSTER_ID}${o.serverArgs.length ? ' ' + o.serverArgs.join(' ') : ''}` +
      ` (MEMORY store, default limits); ${o.size}-byte msgs; ${o.msgs} msgs (sync: ${o.syncMsgs}); -mpa ${o.mpa}; ` +
      `${o.runs} run(s) per scenario, ${o.warm ? 'one warmed-up server per scenario (fresh channel per run)' : 'fresh server per run'}`,
  );
  log(`load generator(s): ${o.loadgens.map((g) => (g === 'ours' ? 'ours (dist/src/bench/loadgen.js)' : `stan-bench (${o.stanBench})`)).join(', ')}`);
  log('');

  for (const sc of o.scenarios) {
    for (const kind of o.loadgens) {
      const row: Row = { sc, kind, runs: [] };
      rows.push(row);
      let shared: RunningServer | null = null;
      const profileFor = (i: number): string | null => (o.profileDir ? path.join(o.profileDir, `${sc.name}-${kind}-${i}`) : null);
      if (o.warm) {
        shared = await startServer(o, profileFor(0));
        startups.push({ tcp: shared.tcpReadyMs, stan: shared.stanReadyMs, idleRss: shared.idleRssKB, hwm: 0 });
        await measure(o, kind, sc, shared, `bench.warmup.${nuid.next()}`);
      }
      for (let i = 1; i <= o.runs; i++) {
        const s = shared ?? (await startServer(o, profileFor(i)));
        try {
          const r = await measure(o, kind, sc, s, `bench.${sc.name}.${nuid.next()}`);
          r.peakRssKB = Math.max(r.peakRssKB, shared ? 0 : readStatusKB(s.pid, 'VmHWM'));
          row.runs.push(r);
          if (!shared) startups.push({ tcp: s.tcpReadyMs, stan: s.stanReadyMs, idleRss: s.idleRssKB, hwm: r.peakRssKB });
          log(
            `  ${sc.name.padEnd(7)} ${kind.padEnd(10)} run ${i}: pub ${k(r.pub).padStart(5)}  sub ${k(r.sub).padStart(5)}  ` +
              `total ${k(r.total).padStart(5)} msgs/s  peak RSS ${mb(r.peakRssKB)}` +
              (shared ? '' : `  (start: tcp ${s.tcpReadyMs.toFixed(0)} ms, stan ${s.stanReadyMs.toFixed(0)} ms)`),
          );
        } finally {
          if (!shared) await stopServer(s);
        }
        const dir = profileFor(i);
        if (dir && !shared) printProfile(dir, log);
      }
      if (shared) {
        await stopServer(shared);
        const dir = profileFor(0);
        if (dir) printProfile(dir, log);
      }
    }
  }

  log('');
  log(
    `median of ${o.runs} run(s), msgs/s; peak RSS = server VmRSS/VmHWM during the run` +
      (o.warm ? ' (--warm: cumulative, the server holds every earlier run\'s channel too)' : ''),
  );
  const header = ['scenario', 'load generator', 'pub', 'sub', 'total', 'pub per run', 'peak RSS', 'reference (Go server)'];
  const table: string[][] = [header];
  for (const r of rows) {
    table.push([
      r.sc.title,
      r.kind,
      k(median(r.runs.map((x) => x.pub))),
      r.sc.subs ? k(median(r.runs.map((x) => x.sub))) : '-',
      k(median(r.runs.map((x) => x.total))),
      r.runs.map((x) => k(x.pub)).join(' / '),
      mb(median(r.runs.map((x) => x.peakRssKB))),
      r.sc.reference,
    ]);
  }
  const widths = header.map((_h, c) => Math.max(...table.map((row) => row[c].length)));
  table.forEach((row, idx) => {
    log(row.map((cell, c) => (c >= 2 && c <= 4 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  '));
    if (idx === 0) log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  if (startups.length > 0) {
    log('');
    log(
      `start-up (median of ${startups.length} spawns): spawn -> TCP accept ${median(startups.map((s) => s.tcp)).toFixed(0)} ms ` +
        `(min ${Math.min(...startups.map((s) => s.tcp)).toFixed(0)}), spawn -> first STAN connect ${median(startups.map((s) => s.stan)).toFixed(0)} ms ` +
        `(min ${Math.min(...startups.map((s) => s.stan)).toFixed(0)}); idle RSS after start ${mb(median(startups.map((s) => s.idleRss)))}`,
    );
  }
}

function printProfile(dir: string, log: (l: string) => void): void {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) {
    log(`  (no .cpuprofile written in ${dir})`);
    return;
  }
  const file = path.join(dir, files.sort().at(-1) ?? files[0]);
  log(`  server CPU profile ${file}:`);
  log(
    formatSummary(summariseFile(file, 20))
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
