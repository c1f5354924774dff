/**
 * The server under test as a child process (`node bin/nats-streaming-server.js`): spawn, time
 * spawn → TCP accept / "Streaming Server is ready" log line / first STAN connect, RSS sampling,
 * stop. Shared by the throughput, recovery, scale and soak parts of `npm run bench`.
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect, nuid } from 'nats';
import { PACKAGE_ROOT } from '../paths';
import { ConnectRequestCodec, ConnectResponseCodec, CloseRequestCodec } from '../protocol/codec';

export const SERVER_BIN = path.join(PACKAGE_ROOT, 'bin', 'nats-streaming-server.js');
export const CLUSTER_ID = 'test-cluster';
const READY_LINE = 'Streaming Server is ready';

export function freePort(): Promise<number> {
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
    const reply = await nc.request(`_STAN.discover.${CLUSTER_ID}`, req, { timeout: 1000 });
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

/**
 * CPU time (user + system, ms) the process has used so far: on this shared 2-core machine the
 * wall-clock start-up time swings with the load of other jobs; the CPU it took does not.
 */
export function readCpuMs(pid: number, mainThreadOnly = false): number {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    // The main thread alone (its task ID is the process ID): the event loop, without workers.
    const text = fs.readFileSync(mainThreadOnly ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** USER_HZ of Linux /proc/<pid>/stat times (100 on every architecture Node runs on). */
const CLOCK_TICKS_PER_S = 100;

export function readStatusKB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface RunningServer {
  proc: ChildProcess;
  pid: number;
  port: number;
  url: string;
  tcpReadyMs: number;
  /** spawn → the "Streaming Server is ready" log line (0 if not seen). */
  logReadyMs: number;
  stanReadyMs: number;
  /** CPU time the server used until the first answered STAN connect. */
  cpuAtReadyMs: number;
  idleRssKB: number;
  output: () => string;
}

export interface StartOptions {
  args: string[];
  profileDir?: string | null;
  /** Extra node/V8 flags (before the script). */
  nodeArgs?: string[];
  port?: number;
  timeoutMs?: number;
  /** The server's launcher (default: this package's bin/nats-streaming-server.js); another build's, to compare. */
  bin?: string;
  /** Server log level flags: default none (NOTICE level prints the ready line). */
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  const port = o.port ?? (await freePort());
  const timeoutMs = o.timeoutMs ?? 20_000;
  const nodeArgs: string[] = [...(o.nodeArgs ?? [])];
  if (o.profileDir) {
    fs.mkdirSync(o.profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${o.profileDir}`);
  }
  const args = [...nodeArgs, o.bin ?? SERVER_BIN, '-p', String(port), '-cid', CLUSTER_ID, ...o.args];
  let out = '';
  let logReadyMs = 0;
  const t0 = performance.now();
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer): void => {
    const s = b.toString('utf8');
    if (logReadyMs === 0 && (out.slice(-64) + s).includes(READY_LINE)) logReadyMs = performance.now() - t0;
    out = (out + s).slice(-16384);
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
    if (performance.now() - t0 > timeoutMs) fail('server did not accept TCP connections in time');
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
    if (performance.now() - t0 > timeoutMs) fail('server did not accept a STAN connect in time');
    if (await tryStanConnect(url)) {
      stanReadyMs = performance.now() - t0;
      break;
    }
    await sleep(2);
  }
  const pid = proc.pid ?? 0;
  const cpuAtReadyMs = readCpuMs(pid);
  return { proc, pid, port, url, tcpReadyMs, logReadyMs, stanReadyMs, cpuAtReadyMs, idleRssKB: readStatusKB(pid, 'VmRSS'), output: () => out };
}

/** SIGINT (clean shutdown: final commit + snapshot) or SIGKILL (crash). */
export async function stopServer(s: RunningServer, signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => s.proc.once('exit', () => resolve()));
  s.proc.kill(signal);
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 60_000);
  await exited;
  clearTimeout(timer);
}

export const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export const k = (n: number): string =>
  n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
export const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

/** Machine load, to print next to figures (other engineers share the 2 cores). */
export function loadavg(): string {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

export function printTable(table: string[][], rightAlign: (col: number) => boolean, log: (l: string) => void): void {
  const widths = table[0].map((_h, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  table.forEach((row, idx) => {
    log(row.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
    if (idx === 0) log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}
