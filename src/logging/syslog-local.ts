/**
 * Local syslog (`-s`, or `-r unix:///path`). The local syslog socket (/dev/log) is a datagram
 * socket on most systems, which Node cannot open; records go through util-linux `logger`
 * (Debian's Essential bsdutils), one long-running child reading `<PRI>message` lines on its
 * stdin. It exits on EOF, so it does not outlive us.
 */
// child_process is required where the sink starts: only -s/-r runs need it, and loading it
// at every start-up cost ~2 ms (docs/startup.md).
import type * as ChildProcesses from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { cut, MAX_RECORD_CHARS, messageLines, priority, SEVERITY } from './syslog-format';
import { Backoff, errText, Health, MAX_BUFFERED_BYTES, stderrReporter, withTimeout, type SinkOptions, type SyslogSink } from './syslog-sink';

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
