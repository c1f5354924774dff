/**
 * What every test database server shares (db.ts): the instance interface, the registry that
 * stops and removes whatever still runs when the test process exits, and the common life
 * cycle (launch with a readiness probe, stop, kill, restart, destroy).
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort } from './proc';
import { randomSecret, sleep, tail } from './db-util';

export type DbKind = 'postgres' | 'mariadb';

/** Files of a generated test PKI (all PEM). */
export interface TlsFiles {
  dir: string;
  /** The CA that signed the server certificate: trust this one. */
  caFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  /** Another, unrelated CA: verification with it must fail. */
  wrongCaFile: string;
  /** A client certificate (clientAuth) signed by the CA, and its key. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A client certificate signed by the unrelated CA: a verifying server must refuse it. */
  wrongClientCertFile: string;
  wrongClientKeyFile: string;
  /** The names (DNS or IP) the server certificate is valid for. */
  names: string[];
}

export interface TlsStartOptions {
  /** Subject alternative names of the server certificate; default ['localhost', '127.0.0.1']. */
  names?: string[];
}

export interface DbStartOptions {
  /** Enable TLS with a freshly generated CA and server certificate. */
  tls?: boolean | TlsStartOptions;
}

export interface DbInstance {
  readonly kind: DbKind;
  readonly host: string;
  readonly port: number;
  /** The instance's temporary directory (data directory, unix socket, log, certificates). */
  readonly dir: string;
  /** Directory holding the unix socket. */
  readonly socketDir: string;
  /** Unix socket path. */
  readonly socketPath: string;
  /** URL of the first database as the admin role (Postgres URLs carry `sslmode=disable`). */
  readonly adminUrl: string;
  readonly database: string;
  /** The admin role (owner of the databases created here) and its password. */
  readonly user: string;
  readonly password: string;
  readonly tls: TlsFiles | undefined;
  /** `postgres://` or `mysql://` URL for a database and role (admin by default). */
  url(database?: string, user?: string, password?: string): string;
  /** Creates a database owned by the admin role (unique name when omitted); resolves its URL. */
  createDatabase(name?: string): Promise<string>;
  /**
   * Creates a login role that may only CONNECT and SELECT/INSERT/UPDATE/DELETE the tables of
   * `database` (including tables the admin creates later) and use its sequences: no DDL.
   * Resolves the URL for connecting as that role.
   */
  createRestrictedRole(database: string, name: string, password: string): Promise<string>;
  /** Runs SQL as the admin role (on `database`, default the first one). */
  adminQuery(sql: string, database?: string): Promise<void>;
  /** Clean shutdown; the data stays, `restart()` brings it back on the same port. */
  stop(): Promise<void>;
  /** Crash: SIGKILL (Postgres: SIGQUIT, immediate shutdown without checkpoint). */
  kill(): Promise<void>;
  /** Starts it again (after stop/kill) on the same port and data. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
  readonly running: boolean;
  /** The last lines of the server log. */
  logTail(lines?: number): string;
}

// ---------------------------------------------------------------------------------------------
// process registry: everything still running is stopped and removed when the process exits

interface Tracked {
  child(): ChildProcess | undefined;
  dir: string;
  crashSignal: NodeJS.Signals;
}

export const live = new Set<Tracked>();
let exitHookInstalled = false;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True while `pid` exists and is not a zombie (our exited children stay zombies until reaped). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function cleanupAllSync(): void {
  const items = [...live];
  live.clear();
  for (const t of items) {
    const c = t.child();
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, t.crashSignal);
      } catch {
        // gone already
      }
    }
  }
  for (const t of items) {
    const pid = t.child()?.pid;
    const deadline = Date.now() + 5000;
    while (pid !== undefined && pidAlive(pid) && Date.now() < deadline) sleepSync(20);
    if (pid !== undefined && pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
      sleepSync(50);
    }
    fs.rmSync(t.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSig = (): void => {
      cleanupAllSync();
      process.removeListener(sig, onSig);
      // Re-raise with the default behaviour unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSig);
  }
}

// ---------------------------------------------------------------------------------------------
// the common lifecycle

export abstract class BaseInstance implements DbInstance {
  abstract readonly kind: DbKind;
  readonly host = '127.0.0.1';
  readonly user = 'stan_admin';
  readonly database = 'stan';
  tls: TlsFiles | undefined;
  port = 0;
  protected child: ChildProcess | undefined;
  protected readonly tracked: Tracked;
  protected abstract readonly crashSignal: NodeJS.Signals;
  protected abstract readonly stopSignal: NodeJS.Signals;

  /** `password`: the admin role's (a replica's admin role is its primary's). */
  constructor(
    readonly dir: string,
    readonly password = randomSecret(),
  ) {
    this.tracked = { child: () => this.child, dir, crashSignal: 'SIGKILL' };
    installExitHook();
    live.add(this.tracked);
  }

  get socketDir(): string {
    return this.dir;
  }
  abstract get socketPath(): string;
  get logFile(): string {
    return path.join(this.dir, 'server.log');
  }
  get adminUrl(): string {
    return this.url();
  }
  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  abstract url(database?: string, user?: string, password?: string): string;
  abstract createDatabase(name?: string): Promise<string>;
  abstract createRestrictedRole(database: string, name: string, password: string): Promise<string>;
  abstract adminQuery(sql: string, database?: string): Promise<void>;
  protected abstract spawnServer(logFd: number): ChildProcess;
  /** Resolves once the server answers a real query. */
  protected abstract probe(): Promise<void>;

  /** Runs `init` on a new instance; an instance that fails to start is removed again. */
  protected static async startOrRemove<T extends BaseInstance>(inst: T, init: () => Promise<void>): Promise<T> {
    try {
      await init();
      return inst;
    } catch (err) {
      await inst.destroy().catch(() => undefined);
      throw err;
    }
  }

  logTail(lines = 30): string {
    return tail(this.logFile, lines);
  }

  /** Spawns the server and waits until it answers; picks another port on a clash (first start only). */
  protected async launch(fixedPort: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (!fixedPort) this.port = await freePort();
      try {
        await this.launchOnce();
        return;
      } catch (err) {
        const addrInUse = /address already in use|Do you already have another/i.test(this.logTail(50));
        if (addrInUse && attempt < 10) {
          if (fixedPort) await sleep(200);
          continue;
        }
        throw err;
      }
    }
  }

  private async launchOnce(): Promise<void> {
    const fd = fs.openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = this.spawnServer(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.child = child;
    child.unref(); // never keep the test process alive: the exit hook stops it
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
    });
    child.once('error', (e) => {
      exited = `failed to start: ${e.message}`;
    });
    const deadline = Date.now() + 60000;
    let lastErr: unknown;
    for (;;) {
      if (exited !== undefined) {
        throw new Error(`${this.kind} ${exited}; log ${this.logFile}:\n${this.logTail()}`);
      }
      try {
        await this.probe();
        return;
      } catch (err) {
        lastErr = err;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${this.kind} did not become ready in 60 s (${String(lastErr)}); log:\n${this.logTail()}`);
      }
      await sleep(50);
    }
  }

  private async signalAndWait(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const done = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 30000);
    await done;
    clearTimeout(t);
    // Postgres backends / MariaDB threads: make sure the pid is really gone before reuse.
    while (c.pid !== undefined && pidAlive(c.pid)) await sleep(10);
  }

  async stop(): Promise<void> {
    await this.signalAndWait(this.stopSignal);
  }

  async kill(): Promise<void> {
    await this.signalAndWait(this.crashSignal);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch(true);
  }

  async destroy(): Promise<void> {
    await this.signalAndWait(this.kind === 'postgres' ? 'SIGQUIT' : 'SIGKILL');
    live.delete(this.tracked);
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
