/**
 * Syslog output of the real executable (-s, -r, --syslog_name), received by real listeners:
 * a node:dgram socket (UDP), a node:net server (TCP), and a node:net unix stream server
 * standing in for /dev/log (STAN_SYSLOG_SOCKET). util-linux `logger`, which the server runs
 * for the local syslog, tries a datagram connection first and falls back to a stream one, so
 * a stream server receives its records. Build dist/ first.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, Proc, runServer, sleep, spawnServer, waitForPort } from '../helpers/proc';
import { close, connect, publish } from '../helpers/stan';

const procs: Proc[] = [];
const closers: Array<() => void> = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-syslog-'));
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  for (const c of closers) c();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const TAG = 'nats-streaming-server';
const RFC3339 = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)`;
const HOST = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Records received by a listener, split into lines, with waiting. */
class Received {
  readonly lines: string[] = [];
  private partial = '';
  private waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];

  /** A datagram is one record (its trailing newline removed). */
  record(text: string): void {
    this.line(text.replace(/\n$/, ''));
  }

  /** A stream: records are newline-terminated. */
  chunk(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.line(p);
  }

  private line(l: string): void {
    this.lines.push(l);
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(l)) return true;
      w.resolve(l);
      return false;
    });
  }

  waitFor(re: RegExp, timeoutMs = 15000, what = ''): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}${what}\nreceived:\n${this.lines.join('\n')}`)), timeoutMs);
      this.waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }
}

async function udpListener(): Promise<{ port: number; rx: Received }> {
  const rx = new Received();
  const sock = dgram.createSocket('udp4');
  sock.on('message', (m) => rx.record(m.toString('utf8')));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  closers.push(() => sock.close());
  return { port: sock.address().port, rx };
}

/** A TCP or unix stream listener; `conns.ended` counts connections closed by the peer; `stop` drops everything. */
async function streamListener(
  where: number | string,
): Promise<{ rx: Received; conns: { opened: number; ended: number }; server: net.Server; stop: () => void }> {
  const rx = new Received();
  const conns = { opened: 0, ended: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.opened++;
    sockets.add(c);
    c.setEncoding('utf8');
    c.on('data', (d: string) => rx.chunk(d));
    c.on('end', () => conns.ended++);
    c.on('close', () => sockets.delete(c));
    c.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'number') server.listen(where, '127.0.0.1', () => resolve());
    else server.listen(where, () => resolve());
  });
  const stop = (): void => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  closers.push(stop);
  return { rx, conns, server, stop };
}

/** Pids of running `logger` processes started for server `pid` (their `--id=<pid>`). */
function loggerChildrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd: string[];
    try {
      cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (path.basename(cmd[0] ?? '') === 'logger' && cmd.includes(`--id=${pid}`)) found.push(Number(d));
  }
  return found;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('-r udp://: start-up lines arrive as RFC 3164-style datagrams with PRI, hostname, tag and pid', async () => {
  const { port: sysPort, rx } = await udpListener();
  const port = await freePort();
  // -s together with -r: -r wins, with a warning (severity warning, PRI 28).
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-r', `udp://127.0.0.1:${sysPort}`, '-s', '-SD']);
  procs.push(proc);
  const head = (pri: number): string => `^<${pri}>${RFC3339} ${HOST} ${TAG}\\[${proc.pid}\\]: `;
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Streaming Server is ready$`));
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Starting nats-streaming-server\\[test-cluster\\] version \\S+$`));
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Message store is MEMORY$`));
  // The embedded NATS server's lines: no STREAM: prefix.
  await rx.waitFor(new RegExp(`${head(29)}Listening for client connections on 127\\.0\\.0\\.1:${port}$`));
  await rx.waitFor(new RegExp(`${head(28)}STREAM: --syslog ignored: --remote_syslog is set`));
  // -SD: STAN debug lines at severity debug (PRI 31).
  const sc = await connect(`nats://127.0.0.1:${port}`, 'test-cluster', 'syslog-udp');
  await publish(sc, 'syslog.udp', 'x');
  await close(sc);
  await rx.waitFor(new RegExp(`${head(31)}STREAM: \\[Client:syslog-udp\\] Connected`));
  for (const l of rx.lines) assert.match(l, new RegExp(`^<(2[6-9]|3[01])>${RFC3339} ${HOST} ${TAG}\\[${proc.pid}\\]: `), l);
  // No timestamp or level tag of our own inside the message.
  assert.ok(!rx.lines.some((l) => /\[(INF|WRN|DBG)\]/.test(l)), rx.lines.join('\n'));
  // Nothing on stderr: the log went to syslog.
  assert.deepEqual(proc.stderrLines.filter((l) => l !== ''), [], proc.output);
  // Graceful stop: the last lines are sent before exit.
  const exit = await proc.stop('SIGTERM');
  assert.equal(exit.code, 143, proc.output);
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Shutting down\\.$`), 5000);
});

test('-r tcp://: newline-framed records over TCP; the connection is closed on shutdown', async () => {
  const sysPort = await freePort();
  const { rx, conns } = await streamListener(sysPort);
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-r', `tcp://127.0.0.1:${sysPort}`]);
  procs.push(proc);
  const head = (pri: number): string => `^<${pri}>${RFC3339} ${HOST} ${TAG}\\[${proc.pid}\\]: `;
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Streaming Server is ready$`));
  await rx.waitFor(new RegExp(`${head(29)}Server is ready$`));
  assert.equal(conns.opened, 1);
  const exit = await proc.stop('SIGINT');
  assert.equal(exit.code, 0, proc.output);
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Shutting down\\.$`), 5000);
  for (let i = 0; i < 50 && conns.ended === 0; i++) await sleep(20);
  assert.equal(conns.ended, 1, 'the server ends its TCP connection');
  assert.deepEqual(proc.stderrLines.filter((l) => l !== ''), [], proc.output);
});

test('-r tcp:// down at start: one warning on stderr, lines queued, delivered once the syslog server is up', async () => {
  const sysPort = await freePort();
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-r', `tcp://127.0.0.1:${sysPort}`]);
  procs.push(proc);
  await waitForPort(port, 15000);
  await proc.waitForLine(/syslog tcp:\/\/127\.0\.0\.1:\d+ unavailable: .*ECONNREFUSED/, { stream: 'stderr' });
  await sleep(1200); // a few reconnect attempts
  assert.equal(proc.stderrLines.filter((l) => /syslog/.test(l)).length, 1, proc.output);
  const { rx } = await streamListener(sysPort);
  const head = `^<(\\d+)>${RFC3339} ${HOST} ${TAG}\\[${proc.pid}\\]: `;
  // Queued start-up lines (bounded queue), then the recovery note (warning, PRI 28).
  await rx.waitFor(new RegExp(`${head}STREAM: Streaming Server is ready$`), 20000);
  await rx.waitFor(new RegExp(`^<28>.*syslog tcp://127\\.0\\.0\\.1:${sysPort} available again; 0 log line\\(s\\) were dropped meanwhile$`));
  await proc.waitForLine(/syslog tcp:\/\/.* available again/, { stream: 'stderr' });
  assert.equal(proc.stderrLines.filter((l) => l !== '').length, 2, proc.output);
  await proc.stop('SIGINT');
});

test('-s: local syslog through util-linux logger (STAN_SYSLOG_SOCKET), --syslog_name as tag, flushed on stop', async () => {
  const sock = path.join(tmp, 'log.sock');
  const { rx } = await streamListener(sock);
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-s', '--syslog_name', 'nss1'], {
    env: { ...process.env, STAN_SYSLOG_SOCKET: sock },
  });
  procs.push(proc);
  // logger's local format: <PRI>Mmm dd hh:mm:ss tag[pid]: message (no hostname).
  const head = (pri: number): string => `^<${pri}>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d nss1\\[${proc.pid}\\]: `;
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Streaming Server is ready$`));
  await rx.waitFor(new RegExp(`${head(29)}STREAM: Starting nats-streaming-server\\[test-cluster\\]`));
  assert.equal(loggerChildrenOf(proc.pid).length, 1, 'one logger child');
  const sc = await connect(`nats://127.0.0.1:${port}`, 'test-cluster', 'syslog-local');
  await publish(sc, 'syslog.local', 'x');
  await close(sc);
  assert.deepEqual(proc.stderrLines.filter((l) => l !== ''), [], proc.output);
  const exit = await proc.stop('SIGTERM');
  assert.equal(exit.code, 143, proc.output);
  // Sent before the exit: the logger child read everything and exited on EOF.
  assert.ok(rx.lines.some((l) => new RegExp(`${head(29)}STREAM: Shutting down\\.$`).test(l)), rx.lines.join('\n'));
  for (let i = 0; i < 50 && loggerChildrenOf(proc.pid).length > 0; i++) await sleep(20);
  assert.deepEqual(loggerChildrenOf(proc.pid), [], 'the logger child does not outlive the server');
});

test('-s: the logger child exits when the server is killed (stdin EOF)', async () => {
  const sock = path.join(tmp, 'kill.sock');
  const { rx } = await streamListener(sock);
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-s'], { env: { ...process.env, STAN_SYSLOG_SOCKET: sock } });
  procs.push(proc);
  await rx.waitFor(new RegExp(`^<29>.* ${escapeRe(TAG)}\\[${proc.pid}\\]: STREAM: Streaming Server is ready$`));
  assert.equal(loggerChildrenOf(proc.pid).length, 1);
  await proc.stop('SIGKILL');
  for (let i = 0; i < 100 && loggerChildrenOf(proc.pid).length > 0; i++) await sleep(20);
  assert.deepEqual(loggerChildrenOf(proc.pid), []);
});

test('-s: the syslog daemon goes away and comes back: one warning, the logger child is restarted', async () => {
  const sock = path.join(tmp, 'restart.sock');
  const first = await streamListener(sock);
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-s', '-SD'], { env: { ...process.env, STAN_SYSLOG_SOCKET: sock } });
  procs.push(proc);
  await first.rx.waitFor(/STREAM: Streaming Server is ready$/);
  const [firstLogger] = loggerChildrenOf(proc.pid);
  assert.ok(firstLogger !== undefined);
  // The daemon stops (its socket disappears); the next record makes logger fail and exit.
  first.stop();
  const sc = await connect(`nats://127.0.0.1:${port}`, 'test-cluster', 'syslog-restart');
  await proc.waitForLine(/syslog unix:\/\/.* unavailable: "logger" exited/, { stream: 'stderr', timeoutMs: 10000 });
  await publish(sc, 'syslog.restart', 'x');
  // The daemon is back: a new logger child is started within the backoff.
  const second = await streamListener(sock);
  await second.rx.waitFor(/^<28>.*\]: syslog unix:\/\/.* available again; \d+ log line\(s\) were dropped meanwhile$/, 15000);
  await close(sc);
  await second.rx.waitFor(/^<31>.* STREAM: \[Client:syslog-restart\] Closed/);
  const children = loggerChildrenOf(proc.pid);
  assert.equal(children.length, 1);
  assert.notEqual(children[0], firstLogger);
  const warnings = proc.stderrLines.filter((l) => l !== '');
  assert.equal(warnings.length, 2, proc.output);
  assert.match(warnings[1] ?? '', /available again/);
  await proc.stop('SIGINT');
});

test('-s with the syslog socket missing: the server starts and serves, one warning on stderr', async () => {
  const port = await freePort();
  const missing = path.join(tmp, 'missing.sock');
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-s'], { env: { ...process.env, STAN_SYSLOG_SOCKET: missing } });
  procs.push(proc);
  await waitForPort(port, 15000);
  const sc = await connect(`nats://127.0.0.1:${port}`, 'test-cluster', 'syslog-missing');
  await publish(sc, 'syslog.missing', 'x');
  await close(sc);
  await sleep(1700); // retries at 0.5 s and 1 s: still one warning
  const lines = proc.stderrLines.filter((l) => l !== '');
  assert.equal(lines.length, 1, proc.output);
  assert.match(lines[0] ?? '', new RegExp(`^nats-streaming-server: syslog unix://${escapeRe(missing)} unavailable: .*not a socket`));
  const exit = await proc.stop('SIGINT');
  assert.equal(exit.code, 0, proc.output);
});

test('a failed start with syslog: the fatal record has severity crit (PRI 26) and stderr says it too', async () => {
  const { port: sysPort, rx } = await udpListener();
  const busy = await streamListener(await freePort());
  const addr = busy.server.address();
  assert.ok(addr !== null && typeof addr !== 'string');
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(addr.port), '-r', `127.0.0.1:${sysPort}`]);
  procs.push(proc);
  const exit = await proc.waitExit(15000);
  assert.equal(exit.code, 1, proc.output);
  await rx.waitFor(new RegExp(`^<26>${RFC3339} ${HOST} ${TAG}\\[${proc.pid}\\]: .*(in use|EADDRINUSE)`), 5000);
  assert.match(proc.stderr, /nats-streaming-server: .*(in use|EADDRINUSE)/);
});

test('bad -r values stop the start-up with a clear message and a non-zero exit', async () => {
  const cases: Array<[string, RegExp]> = [
    ['ftp://host:21', /invalid --remote_syslog "ftp:\/\/host:21": unsupported network type "ftp"/],
    ['udp://host:0', /invalid --remote_syslog "udp:\/\/host:0": invalid port/],
    ['unix://', /invalid --remote_syslog "unix:\/\/"/],
  ];
  await Promise.all(
    cases.map(async ([url, re]) => {
      const { proc, exit } = await runServer(['-a', '127.0.0.1', '-p', String(await freePort()), '-r', url]);
      assert.equal(exit.code, 1, proc.output);
      assert.match(proc.stderr, re, proc.output);
      assert.doesNotMatch(proc.output, /Streaming Server is ready/);
    }),
  );
});

test('-l with -s: the file wins (as the reference), with a warning in the file', async () => {
  const file = path.join(tmp, 'server.log');
  const sock = path.join(tmp, 'unused.sock');
  const { rx } = await streamListener(sock);
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-l', file, '-s'], { env: { ...process.env, STAN_SYSLOG_SOCKET: sock } });
  procs.push(proc);
  const deadline = Date.now() + 15000;
  let text = '';
  while (!/Streaming Server is ready/.test(text) && Date.now() < deadline) {
    await sleep(50);
    text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }
  assert.match(text, /\[WRN\] STREAM: --syslog ignored: the log goes to the file given by --log/);
  assert.match(text, /\[INF\] STREAM: Streaming Server is ready/);
  assert.deepEqual(loggerChildrenOf(proc.pid), []);
  assert.deepEqual(rx.lines, []);
  await proc.stop('SIGINT');
});
