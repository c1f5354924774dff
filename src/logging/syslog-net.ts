/**
 * Remote syslog over the network (`-r udp://host:port`, `-r tcp://host:port`): records as Go's
 * log/syslog writes them to a connection, one datagram per record over UDP, newline-terminated
 * over TCP (non-transparent framing, which rsyslog's imtcp and syslog-ng's network() source
 * accept by default).
 */
// dgram and dns are required where a sink uses them: only -r runs need them, and loading
// them at every start-up cost ~2 ms (docs/startup.md).
import type * as Dgram from 'node:dgram';
import type * as Dns from 'node:dns';
import * as net from 'node:net';
import * as os from 'node:os';
import { cut, formatRemoteRecord, messageLines, priority, SEVERITY } from './syslog-format';
import { describeTarget } from './syslog-target';
import {
  Backoff,
  errText,
  Health,
  MAX_BUFFERED_BYTES,
  MAX_QUEUED_RECORDS,
  stderrReporter,
  UDP_RECOVERY_QUIET_MS,
  withTimeout,
  type SinkOptions,
  type SyslogSink,
} from './syslog-sink';

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
