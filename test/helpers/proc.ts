/**
 * Process-level helpers: spawn our real executable (bin/nats-streaming-server.js, which runs
 * the compiled dist/ — build first), capture its output line by line, wait for lines, send
 * signals and collect exit codes. Also free-port and TCP-probe helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(REPO_ROOT, 'bin', 'nats-streaming-server.js');

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('no port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * `n` distinct free TCP ports on 127.0.0.1, all held until the last is picked: successive
 * freePort() calls may return the same port again (the OS is free to hand out a released
 * port at once; seen: a routed pair's route port equal to its other server's client port).
 */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      srv.unref();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => {
            const addr = srv.address();
            if (addr === null || typeof addr === 'string') reject(new Error('no port'));
            else resolve(addr.port);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))));
  }
}

/** Resolves true when a TCP connection to host:port is accepted. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Polls until a TCP connection to the port is accepted; resolves with the elapsed ms. */
export async function waitForPort(port: number, timeoutMs = 10000, host = '127.0.0.1'): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await canConnect(port, host, 200)) return performance.now() - start;
    await sleep(5);
  }
  throw new Error(`port ${host}:${port} did not accept connections within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface LineWaiter {
  re: RegExp;
  stream: 'stdout' | 'stderr' | 'any';
  resolve: (line: string) => void;
}

/** A spawned child process whose stdout/stderr are captured as lines. */
export class Proc {
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  readonly exited: Promise<ExitResult>;
  exit: ExitResult | undefined;
  private waiters: LineWaiter[] = [];
  private exitWaiters: Array<() => void> = [];
  private partial = { stdout: '', stderr: '' };

  constructor(readonly child: ChildProcess, readonly description: string) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => this.onData('stdout', d));
    child.stderr?.on('data', (d: string) => this.onData('stderr', d));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        for (const s of ['stdout', 'stderr'] as const) {
          if (this.partial[s] !== '') this.onLine(s, this.partial[s]);
          this.partial[s] = '';
        }
        this.exit = { code, signal };
        resolve(this.exit);
        const w = this.exitWaiters;
        this.exitWaiters = [];
        for (const f of w) f();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get stdout(): string {
    return this.stdoutLines.join('\n');
  }

  get stderr(): string {
    return this.stderrLines.join('\n');
  }

  /** Everything seen so far, for assertion messages. */
  get output(): string {
    return `--- stdout ---\n${this.stdout}\n--- stderr ---\n${this.stderr}`;
  }

  private onData(stream: 'stdout' | 'stderr', d: string): void {
    const text = this.partial[stream] + d;
    const parts = text.split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const line of parts) this.onLine(stream, line);
  }

  private onLine(stream: 'stdout' | 'stderr', line: string): void {
    (stream === 'stdout' ? this.stdoutLines : this.stderrLines).push(line);
    this.waiters = this.waiters.filter((w) => {
      if ((w.stream === 'any' || w.stream === stream) && w.re.test(line)) {
        w.resolve(line);
        return false;
      }
      return true;
    });
  }

  /**
   * Waits for a line (already seen or future) matching `re`. Rejects on timeout or when the
   * process exits first, with the captured output in the message.
   */
  waitForLine(re: RegExp, opts: { stream?: 'stdout' | 'stderr' | 'any'; timeoutMs?: number } = {}): Promise<string> {
    const stream = opts.stream ?? 'any';
    const timeoutMs = opts.timeoutMs ?? 10000;
    const seen = [
      ...(stream !== 'stderr' ? this.stdoutLines : []),
      ...(stream !== 'stdout' ? this.stderrLines : []),
    ].find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, line?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        if (err) reject(err);
        else resolve(line ?? '');
      };
      const waiter: LineWaiter = { re, stream, resolve: (line) => finish(undefined, line) };
      const t = setTimeout(
        () => finish(new Error(`timeout after ${timeoutMs} ms waiting for ${re} from ${this.description}\n${this.output}`)),
        timeoutMs,
      );
      this.waiters.push(waiter);
      const onExit = (): void =>
        finish(new Error(`${this.description} exited (${JSON.stringify(this.exit)}) before printing ${re}\n${this.output}`));
      if (this.exit) onExit();
      else this.exitWaiters.push(onExit);
    });
  }

  /** Waits for the process to exit; kills it with SIGKILL and rejects after the timeout. */
  async waitExit(timeoutMs = 10000): Promise<ExitResult> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`${this.description} did not exit within ${timeoutMs} ms\n${this.output}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10000): Promise<ExitResult> {
    if (this.exit) return this.exit;
    this.child.kill(signal);
    return this.waitExit(timeoutMs);
  }

  /** Best-effort cleanup for `after` hooks: SIGKILL if still running. */
  async kill(): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGKILL');
    await this.waitExit(5000).catch(() => undefined);
  }
}

/** Spawns our executable with `args`. */
export function spawnServer(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Proc(child, `nats-streaming-server ${args.join(' ')}`);
}

/** Runs our executable to completion (for -h, -v, bad flags). */
export async function runServer(args: string[], timeoutMs = 10000): Promise<{ proc: Proc; exit: ExitResult }> {
  const proc = spawnServer(args);
  const exit = await proc.waitExit(timeoutMs);
  return { proc, exit };
}

export const READY_RE = /\[INF\] STREAM: Streaming Server is ready/;

/**
 * Spawns our executable on a free port (`-p`, plus `args`) and waits for "Streaming Server
 * is ready". Retries on another port if the one picked was taken meanwhile.
 */
export async function startServerProc(args: string[] = [], readyRe: RegExp = READY_RE): Promise<{ proc: Proc; port: number; url: string }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), ...args]);
    try {
      await proc.waitForLine(readyRe, { timeoutMs: 15000 });
      return { proc, port, url: `nats://127.0.0.1:${port}` };
    } catch (err) {
      await proc.kill();
      if (attempt < 2 && /EADDRINUSE|address already in use/i.test(proc.output)) continue;
      throw err;
    }
  }
}
