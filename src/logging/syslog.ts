/**
 * Syslog output (`-s/--syslog`, `-r/--remote_syslog`), as the reference's SysLogger (Go's
 * log/syslog under nats-server's logger package) writes it:
 *
 * - severities: notice → notice(5), warn → warning(4), error → err(3), fatal → crit(2),
 *   debug → debug(7), trace → notice(5); facility daemon(3), so PRI = 24 + severity;
 * - no level tag and no timestamp of our own in the message: syslog stamps the record;
 * - tag = the executable's base name (`nats-streaming-server`), or `--syslog_name`;
 * - remote records: `<PRI>2006-01-02T15:04:05+01:00 hostname tag[pid]: message\n`, one
 *   datagram per record over UDP, newline-terminated over TCP (non-transparent framing,
 *   which rsyslog's imtcp and syslog-ng's network() source accept by default).
 *
 * The local syslog socket (/dev/log) is a datagram socket on most systems, which Node cannot
 * open; local records go through util-linux `logger` (Debian's Essential bsdutils), one
 * long-running child reading `<PRI>message` lines on its stdin. It exits on EOF, so it does
 * not outlive us.
 *
 * Syslog trouble never stops the server: the first failure is reported on stderr, records are
 * dropped (counted, reported at most once a minute) while the target is unavailable, and the
 * connection (or the `logger` child) is retried with a backoff.
 *
 * Size (~620 lines): one job, the reference's syslog output, with its URL parsing, local
 * socket and UDP/TCP transports and RFC 3164 framing; each part is small and used only here.
 */
// child_process, dgram and dns are required where a sink uses them: only -s/-r runs need
// them, and loading them at every start-up cost ~2 ms (docs/startup.md).
import type * as ChildProcesses from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type * as Dgram from 'node:dgram';
import type * as Dns from 'node:dns';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { StanServerError } from '../errors';

/** RFC 5424 severities used by the reference's SysLogger. */
export const SEVERITY = { crit: 2, err: 3, warning: 4, notice: 5, debug: 7 } as const;
/** Facility daemon, as the reference's local syslog writer. */
export const FACILITY_DAEMON = 3;
/** Default syslog port when `-r` gives none. */
export const DEFAULT_SYSLOG_PORT = 514;
/** The local syslog socket; STAN_SYSLOG_SOCKET overrides it (tests, unusual systems). */
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';
export const SYSLOG_SOCKET_ENV = 'STAN_SYSLOG_SOCKET';

export function priority(severity: number, facility = FACILITY_DAEMON): number {
  return facility * 8 + severity;
}

export type SyslogTarget =
  | { kind: 'udp' | 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

export class SyslogURLError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'SyslogURLError';
  }
}

/**
 * Parses `--remote_syslog`: `udp://host[:port]`, `tcp://host[:port]`, `unix:///path`, or a
 * bare `host[:port]` (UDP). The port defaults to 514. The reference requires the scheme and
 * the port; accepting less is an extension.
 */
export function parseRemoteSyslogURL(raw: string): SyslogTarget {
  const s = raw.trim();
  const bad = (why: string): SyslogURLError => new SyslogURLError(`invalid --remote_syslog ${JSON.stringify(raw)}: ${why}`);
  if (s === '') throw bad('empty address');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(s);
  const scheme = m ? (m[1] ?? '').toLowerCase() : 'udp';
  if (scheme !== 'udp' && scheme !== 'tcp' && scheme !== 'unix') {
    throw bad(`unsupported network type ${JSON.stringify(scheme)} (use udp://host:port, tcp://host:port or unix:///path)`);
  }
  let u: URL;
  try {
    u = new URL(m ? `${scheme}${s.slice(scheme.length)}` : `udp://${s}`);
  } catch {
    throw bad('not a valid URL');
  }
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') throw bad('unexpected user, query or fragment');
  if (scheme === 'unix') {
    let p: string;
    try {
      p = decodeURIComponent(u.pathname);
    } catch {
      throw bad('bad percent-encoding in the path');
    }
    if (u.host !== '') throw bad('a unix socket URL has no host (unix:///path/to/socket)');
    if (p === '' || p === '/') throw bad('missing socket path (unix:///path/to/socket)');
    return { kind: 'unix', path: p };
  }
  let host = u.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw bad('missing host');
  if (u.pathname !== '' && u.pathname !== '/') throw bad(`unexpected path ${JSON.stringify(u.pathname)}`);
  const port = u.port === '' ? DEFAULT_SYSLOG_PORT : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`invalid port ${JSON.stringify(u.port)}`);
  return { kind: scheme, host, port };
}

export function describeTarget(t: SyslogTarget): string {
  if (t.kind === 'unix') return `unix://${t.path}`;
  return `${t.kind}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

/**
 * The tag: `--syslog_name` when given, else the executable's base name as the reference
 * (`/usr/bin/nats-streaming-server` → `nats-streaming-server`), without a `.js` suffix.
 * Characters that would break the `tag[pid]:` header (spaces, `:`, `[`, `]`, controls) become `_`.
 */
export function syslogTag(syslogName: string, script: string | undefined = process.argv[1]): string {
  let tag = syslogName;
  if (tag === '') {
    tag = path.basename(script ?? '').replace(/\.(c|m)?js$/, '');
    if (tag === '') tag = 'nats-streaming-server';
  }
  return tag.replace(/[^\x21-\x7e]|[:[\]]/g, '_');
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's time.RFC3339 in local time: `2006-01-02T15:04:05+01:00`, `Z` for UTC. */
export function formatRFC3339(d: Date): string {
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
  );
}

/** A message is sent as one record per line (stream framing and `logger` are line-based). */
export function messageLines(msg: string): string[] {
  const lines = msg.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** One remote record, as Go's log/syslog writes it to a network connection. */
export function formatRemoteRecord(pri: number, date: Date, hostname: string, tag: string, pid: number, line: string): string {
  return `<${pri}>${formatRFC3339(date)} ${hostname} ${tag}[${pid}]: ${line}\n`;
}

/** Records longer than this are cut (a UDP datagram holds at most 65507 bytes). */
const MAX_RECORD_CHARS = 60000;
/** Records kept while a remote target is (re)connecting; older ones are dropped beyond it. */
const MAX_QUEUED_RECORDS = 1000;
/** Bytes buffered towards a connected target (socket or pipe) before records are dropped. */
const MAX_BUFFERED_BYTES = 1 << 20;
const DROP_REPORT_INTERVAL_MS = 60_000;
const BACKOFF_MIN_MS = 500;
const UDP_RECOVERY_QUIET_MS = 10_000;
const BACKOFF_MAX_MS = 30_000;

/** Where a sink reports its own trouble: stderr, the one place left. */
export type Reporter = (line: string) => void;
export const stderrReporter: Reporter = (line) => {
  try {
    process.stderr.write(`nats-streaming-server: ${line}\n`);
  } catch {
    // stderr is gone too: nothing left to tell.
  }
};

/**
 * Failure bookkeeping shared by the sinks: one stderr line when the target becomes
 * unavailable, one when it is back, and the count of dropped records at most once a minute.
 */
class Health {
  private down = false;
  private reason = '';
  private dropped = 0;
  private droppedSinceDown = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly target: string, private readonly report: Reporter) {}

  get isDown(): boolean {
    return this.down;
  }

  failed(reason: string): void {
    this.reason = reason;
    if (this.down) return;
    this.down = true;
    this.droppedSinceDown = 0;
    this.report(`syslog ${this.target} unavailable: ${reason}; log lines are dropped until it is back (retrying)`);
  }

  /** Returns the note to log once the target works again, or undefined if it never failed. */
  recovered(): string | undefined {
    if (!this.down) return undefined;
    this.down = false;
    const note = `syslog ${this.target} available again; ${this.droppedSinceDown} log line(s) were dropped meanwhile`;
    this.report(note);
    return note;
  }

  drop(n = 1): void {
    this.dropped += n;
    if (this.down) this.droppedSinceDown += n;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const n2 = this.dropped;
      this.dropped = 0;
      if (n2 > 0) {
        this.report(`syslog ${this.target}: ${n2} log line(s) dropped in the last minute${this.down ? ` (${this.reason})` : ' (output backlog)'}`);
      }
    }, DROP_REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

class Backoff {
  private ms = BACKOFF_MIN_MS;
  next(): number {
    const v = this.ms;
    this.ms = Math.min(this.ms * 2, BACKOFF_MAX_MS);
    return v;
  }
  reset(): void {
    this.ms = BACKOFF_MIN_MS;
  }
}

/** A syslog destination. */
export interface SyslogSink {
  /** Sends one message (split into one record per line) with the given severity. */
  write(severity: number, msg: string): void;
  /** Sends what is buffered and releases the connection or child; bounded by `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}

export interface SinkOptions {
  tag: string;
  pid?: number;
  report?: Reporter;
}

function cut(line: string): string {
  return line.length > MAX_RECORD_CHARS ? line.slice(0, MAX_RECORD_CHARS) : line;
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * Waits for `p`, at most `ms`. The timer is referenced on purpose: while closing, the
 * (otherwise unreferenced) sink must keep the process alive until its records are out.
 */
function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void p.finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

/**
 * Local syslog (or `-r unix:///path`) through util-linux `logger --prio-prefix -u <socket>`.
 * logger connects with a datagram socket and falls back to a stream socket.
 */
export class LoggerChildSink implements SyslogSink {
  private child: ChildProcess | undefined;
  private childStderr = '';
  private readonly health: Health;
  private readonly backoff = new Backoff();
  private retryTimer: NodeJS.Timeout | undefined;
  private aliveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** `logger` cannot be run at all: no point in retrying. */
  private hopeless = false;
  private readonly pid: number;

  constructor(private readonly socketPath: string, private readonly opts: SinkOptions, private readonly command = 'logger') {
    this.pid = opts.pid ?? process.pid;
    this.health = new Health(`unix://${socketPath}`, opts.report ?? stderrReporter);
    this.start();
  }

  private start(): void {
    this.retryTimer = undefined;
    if (this.closed) return;
    let isSocket = false;
    try {
      isSocket = fs.statSync(this.socketPath).isSocket();
    } catch {
      // Missing: reported below.
    }
    if (!isSocket) {
      this.fail(`${this.socketPath} is not a socket (no syslog daemon listening?)`);
      return;
    }
    const args = [
      '--socket-errors=on',
      '--prio-prefix',
      `--tag=${this.opts.tag}`,
      `--id=${this.pid}`,
      `--size=${MAX_RECORD_CHARS}`,
      '-u',
      this.socketPath,
    ];
    let child: ChildProcess;
    try {
      // Own session: a terminal's Ctrl-C must not kill it before our shutdown lines are out.
      child = (require('node:child_process') as typeof ChildProcesses).spawn(this.command, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    } catch (err) {
      this.hopeless = true;
      this.fail(`cannot run util-linux "${this.command}": ${errText(err)}`);
      return;
    }
    this.child = child;
    this.childStderr = '';
    child.unref();
    for (const s of [child.stdin, child.stderr]) if (s instanceof net.Socket) s.unref();
    child.stdin?.on('error', () => {
      // EPIPE once logger is gone: its exit is handled below.
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (this.childStderr.length < 2000) this.childStderr += d;
    });
    child.once('error', (err) => {
      // Spawning failed (ENOENT: no util-linux logger).
      if (this.child !== child) return;
      this.child = undefined;
      this.hopeless = (err as NodeJS.ErrnoException).code === 'ENOENT';
      this.fail(`cannot run util-linux "${this.command}" (package bsdutils): ${errText(err)}`);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.aliveTimer) clearTimeout(this.aliveTimer);
      if (this.closed) return;
      const why = this.childStderr.trim().split('\n')[0] ?? '';
      this.fail(`"${this.command}" exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ''}`);
    });
    // logger connects as it starts; still alive a moment later means the socket took it.
    this.aliveTimer = setTimeout(() => {
      if (this.child !== child) return;
      this.backoff.reset();
      const note = this.health.recovered();
      if (note !== undefined) this.write(SEVERITY.warning, note);
    }, 1000);
    this.aliveTimer.unref();
  }

  private fail(reason: string): void {
    this.health.failed(reason);
    if (this.closed || this.hopeless || this.retryTimer) return;
    this.retryTimer = setTimeout(() => this.start(), this.backoff.next());
    this.retryTimer.unref();
  }

  write(severity: number, msg: string): void {
    if (this.closed) return;
    const lines = messageLines(msg);
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable) {
      this.health.drop(lines.length);
      return;
    }
    if (stdin.writableLength > MAX_BUFFERED_BYTES) {
      this.health.drop(lines.length);
      return;
    }
    const pri = priority(severity);
    stdin.write(lines.map((l) => `<${pri}>${cut(l)}\n`).join(''));
  }

  close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    this.health.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.aliveTimer) clearTimeout(this.aliveTimer);
    const child = this.child;
    if (!child) return Promise.resolve();
    // logger sends everything it has read, then exits on EOF.
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.ref();
    child.stdin?.end();
    return withTimeout(exited, timeoutMs).then(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    });
  }
}

/** Common part of the UDP and TCP sinks: record formatting and the bounded start-up queue. */
abstract class NetSink implements SyslogSink {
  protected readonly health: Health;
  protected readonly backoff = new Backoff();
  protected queue: string[] = [];
  protected closed = false;
  protected retryTimer: NodeJS.Timeout | undefined;
  private readonly hostname = os.hostname();
  private readonly pid: number;

  constructor(protected readonly target: { host: string; port: number }, protected readonly opts: SinkOptions, kind: 'udp' | 'tcp') {
    this.pid = opts.pid ?? process.pid;
    this.health = new Health(describeTarget({ kind, ...target }), opts.report ?? stderrReporter);
  }

  write(severity: number, msg: string): void {
    if (this.closed) return;
    const now = new Date();
    const pri = priority(severity);
    for (const l of messageLines(msg)) this.send(formatRemoteRecord(pri, now, this.hostname, this.opts.tag, this.pid, cut(l)));
  }

  protected enqueue(record: string): void {
    this.queue.push(record);
    if (this.queue.length > MAX_QUEUED_RECORDS) {
      this.queue.shift();
      this.health.drop();
    }
  }

  protected scheduleRetry(fn: () => void): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      fn();
    }, this.backoff.next());
    this.retryTimer.unref();
  }

  /** After a recovery: the note goes to syslog too. */
  protected noteRecovered(): void {
    this.backoff.reset();
    const note = this.health.recovered();
    if (note !== undefined) this.write(SEVERITY.warning, note);
  }

  protected abstract send(record: string): void;
  abstract close(timeoutMs?: number): Promise<void>;
}

/** `-r udp://host:port`: one datagram per record on a connected UDP socket. */
export class UdpSyslogSink extends NetSink {
  private socket: Dgram.Socket | undefined;
  private connecting = false;
  private inFlight = 0;
  private idle: Array<() => void> = [];
  private lastErrorAt = 0;

  constructor(target: { host: string; port: number }, opts: SinkOptions) {
    super(target, opts, 'udp');
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    this.connecting = true;
    (require('node:dns') as typeof Dns).lookup(this.target.host, (err, address, family) => {
      if (this.closed) return;
      if (err) {
        this.connecting = false;
        this.health.failed(`cannot resolve ${this.target.host}: ${errText(err)}`);
        this.scheduleRetry(() => this.connect());
        return;
      }
      const sock = (require('node:dgram') as typeof Dgram).createSocket(family === 6 ? 'udp6' : 'udp4');
      sock.unref();
      sock.on('error', (e) => {
        this.health.failed(errText(e));
      });
      sock.connect(this.target.port, address, () => {
        if (this.closed) {
          sock.close();
          return;
        }
        this.socket = sock;
        this.connecting = false;
        const q = this.queue;
        this.queue = [];
        for (const r of q) this.send(r);
      });
    });
  }

  protected send(record: string): void {
    const sock = this.socket;
    if (!sock) {
      this.enqueue(record);
      if (!this.connecting) this.scheduleRetry(() => this.connect());
      return;
    }
    this.inFlight++;
    sock.send(record, (err) => {
      this.inFlight--;
      if (err) {
        // ICMP port unreachable shows up here (ECONNREFUSED) on a connected socket.
        // On Linux the error of one datagram is reported by the next send, so failures and
        // successes alternate while nobody listens: "available again" needs a quiet period.
        this.lastErrorAt = Date.now();
        this.health.failed(errText(err));
        this.health.drop();
      } else if (this.health.isDown && Date.now() - this.lastErrorAt > UDP_RECOVERY_QUIET_MS) {
        this.noteRecovered();
      }
      if (this.inFlight === 0) {
        const w = this.idle;
        this.idle = [];
        for (const f of w) f();
      }
    });
  }

  close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    this.health.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const sock = this.socket;
    this.socket = undefined;
    if (!sock) return Promise.resolve();
    sock.ref();
    const drained = this.inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => this.idle.push(r));
    return withTimeout(drained, timeoutMs).then(() => {
      try {
        sock.close();
      } catch {
        // Already closed.
      }
    });
  }
}

/** `-r tcp://host:port`: newline-framed records on a TCP connection, reconnected with a backoff. */
export class TcpSyslogSink extends NetSink {
  private socket: net.Socket | undefined;
  private connected = false;

  constructor(target: { host: string; port: number }, opts: SinkOptions) {
    super(target, opts, 'tcp');
    this.connect();
  }

  private connect(): void {
    if (this.closed) return;
    const sock = net.connect({ host: this.target.host, port: this.target.port });
    this.socket = sock;
    sock.unref();
    sock.setKeepAlive(true, 30_000);
    let lastError = '';
    sock.on('error', (e) => {
      lastError = errText(e);
    });
    sock.once('connect', () => {
      if (this.socket !== sock) return;
      this.connected = true;
      const q = this.queue;
      this.queue = [];
      if (q.length > 0) sock.write(q.join(''));
      this.noteRecovered();
    });
    // A syslog server sends nothing; reading notices its close.
    sock.on('data', () => {});
    sock.once('close', () => {
      if (this.socket !== sock) return;
      this.socket = undefined;
      this.connected = false;
      if (this.closed) return;
      this.health.failed(lastError || 'connection closed by the syslog server');
      this.scheduleRetry(() => this.connect());
    });
  }

  protected send(record: string): void {
    const sock = this.socket;
    if (!sock || !this.connected) {
      this.enqueue(record);
      return;
    }
    if (sock.writableLength > MAX_BUFFERED_BYTES) {
      this.health.drop();
      return;
    }
    sock.write(record);
  }

  close(timeoutMs = 2000): Promise<void> {
    this.closed = true;
    this.health.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const sock = this.socket;
    if (!sock) return Promise.resolve();
    if (!this.connected) {
      sock.destroy();
      return Promise.resolve();
    }
    sock.ref();
    const done = new Promise<void>((resolve) => {
      sock.once('close', () => resolve());
      sock.end();
    });
    return withTimeout(done, timeoutMs).then(() => {
      sock.destroy();
    });
  }
}

export type SyslogChoice = { kind: 'local'; socketPath: string } | { kind: 'remote'; target: SyslogTarget };

/** Builds the sink for `-s` (local) or `-r` (remote). */
export function createSyslogSink(choice: SyslogChoice, opts: SinkOptions): SyslogSink {
  if (choice.kind === 'local') return new LoggerChildSink(choice.socketPath, opts);
  const t = choice.target;
  if (t.kind === 'unix') return new LoggerChildSink(t.path, opts);
  if (t.kind === 'udp') return new UdpSyslogSink(t, opts);
  return new TcpSyslogSink(t, opts);
}
