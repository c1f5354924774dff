/**
 * A real nats-server child process that serves the embedded NATS role when NATS cluster
 * routes are configured (see ./child-config.ts for why and how it is configured).
 *
 * Lifecycle:
 *  - the binary is `--nats_server_bin`, else `nats-server` on PATH; missing → a start-up
 *    error saying what to install or which flag to use;
 *  - its configuration is written to a private temporary directory (mode 0700, file 0600:
 *    it may hold passwords) and deleted as soon as the child is ready (nats-server reads it
 *    once; we never ask it to reload), so nothing is left behind even if we are killed;
 *  - its output is re-logged through our NATS logger at the level of each line;
 *  - ready = it printed "Server is ready" and its client port accepts connections, within a
 *    timeout (error with its last log lines);
 *  - stop: SIGTERM, SIGKILL after a grace period;
 *  - orphans: on Linux the child is started through `setpriv --pdeathsig KILL` (util-linux),
 *    so the kernel kills it when our process dies, even by SIGKILL. It runs in its own
 *    session, so a Ctrl-C meant for us does not stop it before the streaming server closed.
 *    A normal `process.exit` also kills it synchronously. Without setpriv a SIGKILL of our
 *    process leaves it running (logged at start-up as a warning).
 *  - an unexpected exit is reported to `onUnexpectedExit` (the streaming server then shuts
 *    down and the CLI exits non-zero: a supervisor restarts both together).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NatsServerOptions, ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { buildChildConfig, childClientAuth, childClientTLS, type ChildClientTLS } from './child-config';
import type { ExternalTLS } from './external-options';
import type { NatsTransport } from './transport';
import { StanServerError, errorText } from '../errors';

export class ChildNatsServerError extends StanServerError {
  override readonly kind = 'nats' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ChildNatsServerError';
  }
}

const DEFAULT_BIN = 'nats-server';
/** How many of the child's last output lines an error message quotes. */
const TAIL_LINES = 15;
const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_GRACE_MS = 5_000;

export interface ChildNatsStartOptions {
  log: Logger;
  /** Also open its HTTP monitor on a random loopback port (for our monitor's proxy). */
  monitor: boolean;
  readyTimeoutMs?: number;
  stopGraceMs?: number;
  /** Called once if the child exits while we did not ask it to. */
  onUnexpectedExit?: (why: string) => void;
}

/** An executable file at `p`? */
function isExecutable(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function searchPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** The nats-server executable to run, or a start-up error saying how to get one. */
export function resolveNatsServerBin(configured: string): string {
  if (configured !== '') {
    const p = configured.includes('/') ? configured : searchPath(configured);
    if (p === undefined || !isExecutable(p)) {
      throw new ChildNatsServerError(
        `--nats_server_bin ${JSON.stringify(configured)}: no executable file there; point it at a nats-server ` +
          'executable (apt-get install nats-server, or download it from https://nats.io/download/)',
      );
    }
    return p;
  }
  const found = searchPath(DEFAULT_BIN);
  if (found === undefined) {
    throw new ChildNatsServerError(
      'the NATS cluster options (--cluster, --routes, cluster { }) run a real nats-server, and none was found on PATH: ' +
        'install it (apt-get install nats-server, or download it from https://nats.io/download/) ' +
        'or give its location with --nats_server_bin',
    );
  }
  return found;
}

/** `[pid] [2024/01/02 03:04:05.678901 ][LVL] text` → level and text (logtime on or off). */
const LINE_RE = /^\[\d+\] (?:\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d+ )?\[(INF|DBG|TRC|WRN|ERR|FTL)\] (.*)$/;
const CLIENT_LISTEN_RE = /Listening for client connections on (.+):(\d+)$/;
const HTTP_LISTEN_RE = /Starting http monitor on (.+):(\d+)$/;
const READY_RE = /Server is ready$/;
const ROUTE_LISTEN_RE = /Listening for route connections on /;
const RELOADED_RE = /^Reloaded server configuration/;
const RELOAD_FAILED_RE = /^Failed to reload server configuration: (.*)$/;

/** The kernel's parent-death signal, when util-linux's setpriv can set it (Linux). */
function pdeathsigWrapper(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  return searchPath('setpriv');
}

/** Processes alive at our exit: killed synchronously by the `exit` hook. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveChildren) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export class ChildNatsServer {
  /** Client port the child listens on (known once ready; the configured one may be -1/0). */
  port = 0;
  /** Loopback port of its HTTP monitor, 0 when not opened. */
  monitorPort = 0;
  private readonly tail: string[] = [];
  private stopping = false;
  /** Unexpected exits are only reported once it was ready (start() reports earlier ones). */
  private ready = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private tmpDir: string | undefined;
  /** Where the child reads its configuration (again on SIGHUP); the file exists only briefly. */
  private confFile = '';
  private monitor = false;
  /** Called for each output line while a reload waits for the child's verdict. */
  private lineWatcher: ((text: string) => void) | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly bin: string,
    private readonly host: string,
    private readonly o: ChildNatsStartOptions,
    tmpDir: string,
  ) {
    this.tmpDir = tmpDir;
    liveChildren.add(child);
    installExitHook();
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit'): its last output lines are read by then.
      child.once('close', (code, signal) => {
        this.exitInfo = { code, signal };
        liveChildren.delete(child);
        this.removeTmp();
        if (!this.stopping && this.ready) {
          const why = `the nats-server child (pid ${child.pid ?? '?'}) exited unexpectedly (${describeExit(code, signal)})`;
          this.o.onUnexpectedExit?.(`${why}; its last lines:\n${this.lastLines()}`);
        }
        resolve();
      });
      // A spawn failure has no process to wait for.
      child.once('error', () => {
        if (child.pid === undefined && this.exitInfo === undefined) {
          this.exitInfo = { code: null, signal: null };
          liveChildren.delete(child);
          resolve();
        }
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** True while the child runs. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The URL the streaming server (and local tools) reach the child's client port with. */
  get clientURL(): string {
    const h = this.host === '0.0.0.0' || this.host === '' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host;
    return `nats://${h.includes(':') ? `[${h}]` : h}:${this.port}`;
  }

  get monitorURL(): string | undefined {
    return this.monitorPort === 0 ? undefined : `http://127.0.0.1:${this.monitorPort}`;
  }

  lastLines(): string {
    return this.tail.length === 0 ? '(no output)' : this.tail.join('\n');
  }

  static async start(n: NatsServerOptions, o: ChildNatsStartOptions): Promise<ChildNatsServer> {
    const bin = resolveNatsServerBin(n.natsServerBin);
    const conf = buildChildConfig(n, { monitor: o.monitor });
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-nats-'));
    fs.chmodSync(tmpDir, 0o700);
    const confFile = path.join(tmpDir, 'nats-server.conf');
    fs.writeFileSync(confFile, `${JSON.stringify(conf, null, 2)}\n`, { mode: 0o600 });

    const wrapper = pdeathsigWrapper();
    if (wrapper === undefined) {
      o.log.warn('setpriv (util-linux) not found: the nats-server child is not stopped if this process is killed with SIGKILL');
    }
    const [cmd, args] = wrapper !== undefined ? [wrapper, ['--pdeathsig', 'KILL', '--', bin, '-c', confFile]] : [bin, ['-c', confFile]];
    // The child needs none of our secrets (the encryption key would be readable in its /proc environ).
    const env = { ...process.env };
    delete env.NATS_STREAMING_ENCRYPTION_KEY;
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
    const srv = new ChildNatsServer(child, bin, n.host, o, tmpDir);
    srv.confFile = confFile;
    srv.monitor = o.monitor;
    try {
      await srv.waitReady(o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, spawnFailed, listensForRoutes(conf));
    } catch (err) {
      await srv.close();
      throw err;
    }
    srv.ready = true;
    // Read once at start-up; it may hold secrets: gone before anyone can look for it.
    srv.removeTmp();
    o.log.notice(
      `Started nats-server ${bin} (pid ${srv.pid}) for the NATS cluster options, clients on ${srv.clientURL}` +
        (srv.monitorPort !== 0 ? `, its monitor on 127.0.0.1:${srv.monitorPort}` : ''),
    );
    return srv;
  }

  /**
   * nats-server says "Server is ready" once its client port listens, *before* it opens the
   * route port (which can still fail, e.g. taken): with a route listener, wait for that too.
   */
  private waitReady(timeoutMs: number, spawnFailed: Promise<Error>, routeListener: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let sawReady = false;
      let sawRoutes = !routeListener;
      let probing = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () => finish(new ChildNatsServerError(`nats-server (pid ${this.pid}) was not ready within ${timeoutMs} ms; its last lines:\n${this.lastLines()}`)),
        timeoutMs,
      );
      void spawnFailed.then((e) => finish(new ChildNatsServerError(`could not start ${this.bin}: ${e.message}`)));
      void this.exited.then(() => {
        const e = this.exitInfo;
        finish(
          new ChildNatsServerError(
            `nats-server exited (${describeExit(e?.code ?? null, e?.signal ?? null)}) before it was ready; its last lines:\n${this.lastLines()}`,
          ),
        );
      });
      const onLine = (line: string): void => {
        this.onLine(line);
        if (settled) return;
        const text = LINE_RE.exec(line)?.[2] ?? line;
        const cl = CLIENT_LISTEN_RE.exec(text);
        if (cl) this.port = Number(cl[2]);
        const hl = HTTP_LISTEN_RE.exec(text);
        if (hl) this.monitorPort = Number(hl[2]);
        if (READY_RE.test(text)) sawReady = true;
        if (ROUTE_LISTEN_RE.test(text)) sawRoutes = true;
        if (sawReady && sawRoutes && !probing) {
          probing = true;
          // "ready" is printed once it listens; make sure a connection really gets in.
          void this.probe().then(
            () => finish(),
            (err: Error) => finish(err),
          );
        }
      };
      readLines(this.child.stdout, onLine);
      readLines(this.child.stderr, onLine);
    });
  }

  private async probe(): Promise<void> {
    if (this.port === 0) throw new ChildNatsServerError(`nats-server said it is ready but not on which port; its last lines:\n${this.lastLines()}`);
    const host = new URL(this.clientURL).hostname.replace(/^\[(.*)\]$/, '$1');
    await new Promise<void>((resolve, reject) => {
      const s = net.connect({ host, port: this.port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', (e) => reject(new ChildNatsServerError(`nats-server is ready but ${host}:${this.port} refuses connections: ${e.message}`)));
    });
  }

  /**
   * SIGHUP reload: writes the configuration built from `n` where the child reads it, signals
   * the child and waits for its verdict (nats-server logs success or the reason it refused).
   * The file is removed again afterwards: it may hold secrets. Random ports the child picked
   * at start-up are written as the ports it listens on, so they do not read as changes.
   */
  async reload(n: NatsServerOptions, timeoutMs = 10_000): Promise<void> {
    if (!this.running) throw new ChildNatsServerError('the nats-server child is not running');
    const conf = buildChildConfig(n, { monitor: this.monitor });
    if (conf.port === -1) conf.port = this.port;
    if (this.monitorPort !== 0) conf.http = `127.0.0.1:${this.monitorPort}`;
    const dir = path.dirname(this.confFile);
    // mkdir fails if someone re-created the path meanwhile: never write secrets into it then.
    fs.mkdirSync(dir, { mode: 0o700 });
    this.tmpDir = dir;
    try {
      fs.writeFileSync(this.confFile, `${JSON.stringify(conf, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      const verdict = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.lineWatcher = undefined;
          reject(new ChildNatsServerError(`nats-server (pid ${this.pid}) did not confirm the reload within ${timeoutMs} ms`));
        }, timeoutMs);
        this.lineWatcher = (text) => {
          const ok = RELOADED_RE.test(text);
          const failed = RELOAD_FAILED_RE.exec(text);
          if (!ok && !failed) return;
          clearTimeout(timer);
          this.lineWatcher = undefined;
          if (ok) resolve();
          else reject(new ChildNatsServerError(`nats-server refused the new configuration: ${failed?.[1] ?? text}`));
        };
      });
      this.signal('SIGHUP');
      await verdict;
    } finally {
      this.removeTmp();
    }
  }

  /** Re-logs one output line at its level, and keeps it for error messages. */
  private onLine(line: string): void {
    if (line === '') return;
    this.lineWatcher?.(LINE_RE.exec(line)?.[2] ?? line);
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    const log = this.o.log;
    const m = LINE_RE.exec(line);
    if (!m) {
      // Configuration errors and panics are printed without the log prefix.
      log.error(`nats-server: ${line}`);
      return;
    }
    const text = m[2] ?? '';
    switch (m[1]) {
      case 'INF':
        log.notice(text);
        break;
      case 'DBG':
        log.debug(text);
        break;
      case 'TRC':
        log.trace(text);
        break;
      case 'WRN':
        log.warn(text);
        break;
      case 'ERR':
        log.error(text);
        break;
      default:
        log.fatal(text);
    }
  }

  private removeTmp(): void {
    if (this.tmpDir === undefined) return;
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
    this.tmpDir = undefined;
  }

  private closing: Promise<void> | undefined;

  /** Stops the child: SIGTERM, SIGKILL after the grace period. Resolves once it exited. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping = true;
      if (this.exitInfo === undefined) {
        this.signal('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            this.o.log.warn(`nats-server (pid ${this.pid}) did not stop within ${this.o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS} ms: killing it`);
            this.signal('SIGKILL');
            resolve();
          }, this.o.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
        });
        await Promise.race([this.exited, killed]);
        clearTimeout(timer);
        await this.exited;
      }
      this.removeTmp();
    })();
    return this.closing;
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      // already gone
    }
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `signal ${signal}` : `exit code ${code ?? '?'}`;
}

function readLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (stream === null) return;
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) onLine(l.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (partial !== '') onLine(partial);
    partial = '';
  });
}

/**
 * Starts the child for `options` and connects the streaming server to it as a client (with
 * the credentials and TLS settings the child requires). Checks those settings before
 * spawning anything; stops the child again if the connection fails.
 */
/** The connection to our own child verifies its certificate with the CA it was given (files read here). */
function readChildClientTLS(t: ChildClientTLS): ExternalTLS {
  const read = (f: string | undefined): string | undefined => (f === undefined || f === '' ? undefined : fs.readFileSync(f, 'utf8'));
  const out: ExternalTLS = { rejectUnauthorized: true };
  const ca = read(t.caFile);
  const cert = read(t.certFile);
  const key = read(t.keyFile);
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  return out;
}

export async function startChildNatsAndConnect(
  options: ServerOptions,
  name: string,
  o: ChildNatsStartOptions & { stanLog: Logger },
): Promise<{ child: ChildNatsServer; nc: NatsTransport }> {
  const auth = childClientAuth(options.nats, options.streaming);
  const tls = childClientTLS(options.nats, options.streaming);
  const child = await ChildNatsServer.start(options.nats, o);
  try {
    const { connectExternal } = await import('./external');
    const nc = await connectExternal([child.clientURL], { name, ...auth, ...(tls !== undefined ? { tls: readChildClientTLS(tls) } : {}) }, o.stanLog);
    return { child, nc };
  } catch (err) {
    await child.close();
    throw new ChildNatsServerError(
      `could not connect to the nats-server child at ${child.clientURL}: ${errorText(err)}`,
    );
  }
}

/** Does the configuration open a port for incoming routes (a listen address in `cluster`)? */
function listensForRoutes(conf: Record<string, unknown>): boolean {
  const c = conf.cluster;
  if (typeof c !== 'object' || c === null) return false;
  return Object.keys(c).some((k) => ['listen', 'port', 'host', 'net'].includes(k.toLowerCase()));
}
