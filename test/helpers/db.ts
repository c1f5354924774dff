/**
 * Real database servers for the SQL-store tests: PostgreSQL 15 and MariaDB 10.11 (the Debian
 * packages `postgresql` and `mariadb-server`, installed by test/run-all.sh when missing), each
 * started in a fresh temporary directory on a free loopback port. No Docker, no system service.
 *
 *   - `startPostgres()` / `startMariaDB()` start a private instance (`destroy()` it when done);
 *     `{tls: true}` also generates a CA + server certificate with openssl and enables TLS.
 *   - `sharedPostgres()` / `sharedMariaDB()` give one lazily started instance per test process
 *     (stopped and removed when the process exits); `testDatabase('postgres' | 'mariadb')`
 *     creates a database with a unique name on it, so every test gets its own database and
 *     many test files can run in parallel without starting dozens of servers. `stop()`,
 *     `kill()` and `restart()` on a shared instance affect every test of the process: tests
 *     that restart the database under concurrent tests should use a private instance.
 *
 * Each instance has an admin role with a password (a superuser on Postgres, ALL PRIVILEGES
 * WITH GRANT OPTION on MariaDB), a first database, `createDatabase()`, and
 * `createRestrictedRole()` for a role that can only SELECT/INSERT/UPDATE/DELETE (no DDL).
 *
 * Postgres refuses to run as root: as root, initdb and postgres run as the `postgres` OS user
 * (spawn's uid/gid, the same as `runuser -u postgres --`); MariaDB runs with `--user=root`.
 * Server output goes to `<dir>/server.log` (shown in start errors: see `logTail()`).
 * Binaries: $PG_BIN_DIR (else the newest /usr/lib/postgresql/<v>/bin), $MARIADB_BIN_DIR (else
 * PATH, /usr/sbin, /usr/bin).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import { freePort } from './proc';

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

const live = new Set<Tracked>();
let exitHookInstalled = false;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True while `pid` exists and is not a zombie (our exited children stay zombies until reaped). */
function pidAlive(pid: number): boolean {
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

function installExitHook(): void {
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
// small utilities

function randomSecret(): string {
  return randomBytes(12).toString('hex');
}

let nameCounter = 0;
/** A unique lower-case identifier for databases and roles: `<prefix>_<pid>_<n>_<random>`. */
export function uniqueName(prefix = 't'): string {
  nameCounter++;
  return `${prefix}_${process.pid}_${nameCounter}_${randomBytes(3).toString('hex')}`;
}

const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;
function checkIdent(kind: string, name: string): void {
  if (!IDENT_RE.test(name)) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}: use [a-z_][a-z0-9_]*`);
}

function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function pgString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export interface OsUser {
  uid: number;
  gid: number;
}

export function lookupUser(name: string): OsUser | undefined {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion (asynchronously, so several instances can start at once). */
export function run(cmd: string, args: string[], opts: { user?: OsUser; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
        uid: opts.user?.uid,
        gid: opts.user?.gid,
        encoding: 'utf8',
        timeout: 60000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function findExecutable(names: string[], dirs: string[]): string | undefined {
  for (const d of dirs) {
    for (const n of names) {
      const p = path.join(d, n);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        // next
      }
    }
  }
  return undefined;
}

function pathDirs(): string[] {
  return (process.env.PATH ?? '').split(':').filter((d) => d !== '');
}

// ---------------------------------------------------------------------------------------------
// TLS: a throw-away PKI made with openssl

/** Generates a CA, a server certificate signed by it (SAN = `names`) and an unrelated CA. */
export async function generateTestCerts(dir: string, opts: TlsStartOptions = {}): Promise<TlsFiles> {
  const names = opts.names ?? ['localhost', '127.0.0.1'];
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string): string => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '3650', '-subj', '/CN=stan test CA', ...caExt]);
  await run('openssl', ['req', '-x509', ...ec, '-keyout', f('wrong-ca.key'), '-out', f('wrong-ca.crt'), '-days', '3650', '-subj', '/CN=stan wrong CA', ...caExt]);
  await run('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${names[0] ?? 'localhost'}`]);
  const san = names.map((n) => (/^[\d.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
  fs.writeFileSync(
    f('server.ext'),
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '3650', '-extfile', f('server.ext')]);
  fs.chmodSync(f('server.key'), 0o600);
  fs.writeFileSync(f('client.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  for (const [name, ca] of [['client', 'ca'], ['wrong-client', 'wrong-ca']] as const) {
    await run('openssl', ['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=stan test ${name}`]);
    await run('openssl', ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.crt`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '3650', '-extfile', f('client.ext')]);
    fs.chmodSync(f(`${name}.key`), 0o600);
  }
  return {
    dir,
    caFile: f('ca.crt'),
    caKeyFile: f('ca.key'),
    certFile: f('server.crt'),
    keyFile: f('server.key'),
    wrongCaFile: f('wrong-ca.crt'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    wrongClientCertFile: f('wrong-client.crt'),
    wrongClientKeyFile: f('wrong-client.key'),
    names,
  };
}

function tlsOptions(o: DbStartOptions): TlsStartOptions | undefined {
  if (o.tls === undefined || o.tls === false) return undefined;
  return o.tls === true ? {} : o.tls;
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

// ---------------------------------------------------------------------------------------------
// PostgreSQL

export function pgBinDir(): string {
  const env = process.env.PG_BIN_DIR;
  if (env !== undefined && env !== '') return env;
  const base = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = fs.readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    // none
  }
  for (const v of versions) {
    if (findExecutable(['postgres'], [path.join(base, v, 'bin')]) !== undefined) return path.join(base, v, 'bin');
  }
  const onPath = findExecutable(['postgres'], pathDirs());
  if (onPath !== undefined) return path.dirname(onPath);
  throw new Error('PostgreSQL not found: install the Debian package `postgresql` (test/run-all.sh does) or set PG_BIN_DIR');
}

export class PgInstance extends BaseInstance {
  readonly kind = 'postgres' as const;
  protected readonly crashSignal = 'SIGQUIT' as const; // immediate shutdown: no checkpoint, crash recovery on start
  protected readonly stopSignal = 'SIGINT' as const; // fast shutdown
  protected readonly bin = pgBinDir();
  protected readonly osUser: OsUser | undefined = isRoot() ? lookupUser('postgres') : undefined;

  constructor(dir: string, password?: string) {
    super(dir, password);
    this.tracked.crashSignal = 'SIGQUIT';
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }
  get socketPath(): string {
    return path.join(this.dir, `.s.PGSQL.${this.port}`);
  }

  url(database = this.database, user = this.user, password = this.password): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${encodeURIComponent(database)}?sslmode=disable`;
  }

  static async start(opts: DbStartOptions = {}): Promise<PgInstance> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-pg-'));
    const inst = new PgInstance(dir);
    try {
      await inst.init(tlsOptions(opts));
      return inst;
    } catch (err) {
      await inst.destroy().catch(() => undefined);
      throw err;
    }
  }

  protected chown(p: string): void {
    if (this.osUser !== undefined) fs.chownSync(p, this.osUser.uid, this.osUser.gid);
  }

  private async init(tls: TlsStartOptions | undefined): Promise<void> {
    if (isRoot() && this.osUser === undefined) throw new Error('running as root but there is no `postgres` OS user (install the `postgresql` package)');
    fs.chmodSync(this.dir, 0o755);
    this.chown(this.dir);
    const pwFile = path.join(this.dir, 'pwfile');
    fs.writeFileSync(pwFile, `${this.password}\n`, { mode: 0o600 });
    this.chown(pwFile);
    await run(
      path.join(this.bin, 'initdb'),
      ['-D', this.dataDir, '-U', this.user, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions'],
      { user: this.osUser, cwd: this.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', HOME: this.dir } },
    );
    fs.rmSync(pwFile);
    if (tls !== undefined) {
      const certDir = path.join(this.dir, 'tls');
      this.tls = await generateTestCerts(certDir, tls);
      for (const p of [certDir, ...fs.readdirSync(certDir).map((n) => path.join(certDir, n))]) this.chown(p);
    }
    await this.launch(false);
    await this.adminQuery(`CREATE DATABASE ${this.database}`, 'postgres');
  }

  protected spawnServer(logFd: number): ChildProcess {
    const args = [
      '-D', this.dataDir,
      '-p', String(this.port),
      '-k', this.dir,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'logging_collector=off',
      '-c', 'shared_buffers=64MB',
      '-c', 'max_connections=200',
      '-c', 'dynamic_shared_memory_type=mmap',
      '-c', 'max_parallel_workers_per_gather=0',
      '-c', 'unix_socket_permissions=0777',
    ];
    if (this.tls !== undefined) {
      args.push('-c', 'ssl=on', '-c', `ssl_cert_file=${this.tls.certFile}`, '-c', `ssl_key_file=${this.tls.keyFile}`, '-c', `ssl_ca_file=${this.tls.caFile}`);
    }
    return spawn(path.join(this.bin, 'postgres'), args, {
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', HOME: this.dir },
      uid: this.osUser?.uid,
      gid: this.osUser?.gid,
      stdio: ['ignore', logFd, logFd],
      detached: false,
    });
  }

  private async withClient<T>(database: string, f: (c: PgClient) => Promise<T>): Promise<T> {
    const c = new PgClient({ host: this.host, port: this.port, user: this.user, password: this.password, database, ssl: false, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  protected async probe(): Promise<void> {
    await this.withClient('postgres', async (c) => {
      await c.query('SELECT 1');
    });
  }

  async adminQuery(sql: string, database = this.database): Promise<void> {
    await this.withClient(database, async (c) => {
      await c.query(sql);
    });
  }

  async createDatabase(name = uniqueName('db')): Promise<string> {
    checkIdent('database', name);
    await this.adminQuery(`CREATE DATABASE ${name}`, 'postgres');
    return this.url(name);
  }

  async createRestrictedRole(database: string, name: string, password: string): Promise<string> {
    checkIdent('database', database);
    checkIdent('role', name);
    await this.adminQuery(`CREATE ROLE ${name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${pgString(password)}`, 'postgres');
    await this.withClient(database, async (c) => {
      const stmts = [
        `REVOKE ALL ON DATABASE ${database} FROM PUBLIC`,
        `GRANT CONNECT ON DATABASE ${database} TO ${name}`,
        'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
        `GRANT USAGE ON SCHEMA public TO ${name}`,
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${name}`,
        `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${name}`,
        // tables and sequences the admin creates later (migrations) are covered too
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${this.user} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${name}`,
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${this.user} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${name}`,
      ];
      for (const s of stmts) await c.query(s);
    });
    return this.url(database, name, password);
  }
}

// ---------------------------------------------------------------------------------------------
// MariaDB

export function mariaBins(): { server: string; installDb: string } {
  const envDir = process.env.MARIADB_BIN_DIR;
  const dirs = [...(envDir !== undefined && envDir !== '' ? [envDir] : []), ...pathDirs(), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  const server = findExecutable(['mariadbd', 'mysqld'], dirs);
  const installDb = findExecutable(['mariadb-install-db', 'mysql_install_db'], dirs);
  if (server === undefined || installDb === undefined) {
    throw new Error('MariaDB not found: install the Debian package `mariadb-server` (test/run-all.sh does) or set MARIADB_BIN_DIR');
  }
  return { server, installDb };
}

/** Server options shared by mariadb-install-db and mariadbd (the redo log size must match). */
export const MARIA_COMMON = ['--innodb-log-file-size=48M', '--innodb-buffer-pool-size=128M', '--innodb-use-native-aio=0', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci'];

export class MariaInstance extends BaseInstance {
  readonly kind = 'mariadb' as const;
  protected readonly crashSignal = 'SIGKILL' as const;
  protected readonly stopSignal = 'SIGTERM' as const;
  private readonly bins = mariaBins();

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }
  get socketPath(): string {
    return path.join(this.dir, 'mysqld.sock');
  }

  url(database = this.database, user = this.user, password = this.password): string {
    return `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
  }

  static async start(opts: DbStartOptions = {}): Promise<MariaInstance> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-maria-'));
    const inst = new MariaInstance(dir);
    try {
      await inst.init(tlsOptions(opts));
      return inst;
    } catch (err) {
      await inst.destroy().catch(() => undefined);
      throw err;
    }
  }

  protected async installDb(): Promise<void> {
    const userArgs = isRoot() ? ['--user=root'] : [];
    await run(
      this.bins.installDb,
      // --tmpdir: parallel bootstraps sharing /tmp collide on their temporary table names
      ['--no-defaults', `--datadir=${this.dataDir}`, `--tmpdir=${this.dir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve', ...userArgs, ...MARIA_COMMON],
      { cwd: this.dir },
    );
  }

  protected async init(tls: TlsStartOptions | undefined): Promise<void> {
    await this.installDb();
    if (tls !== undefined) this.tls = await generateTestCerts(path.join(this.dir, 'tls'), tls);
    await this.launch(false);
    // root@localhost has no password and is only reachable through the socket.
    const root = await mysql.createConnection({ socketPath: this.socketPath, user: 'root', multipleStatements: true });
    try {
      await root.query(
        `CREATE USER '${this.user}'@'%' IDENTIFIED BY ${sqlString(this.password)};` +
          `GRANT ALL PRIVILEGES ON *.* TO '${this.user}'@'%' WITH GRANT OPTION;` +
          `CREATE DATABASE ${this.database};`,
      );
    } finally {
      await root.end();
    }
  }

  protected spawnServer(logFd: number): ChildProcess {
    const args = [
      '--no-defaults',
      `--datadir=${this.dataDir}`,
      `--socket=${this.socketPath}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
      `--tmpdir=${this.dir}`,
      '--skip-name-resolve',
      '--max-allowed-packet=64M',
      '--max-connections=300',
      ...(isRoot() ? ['--user=root'] : []),
      ...MARIA_COMMON,
      ...this.extraServerArgs(),
    ];
    if (this.tls !== undefined) args.push(`--ssl-cert=${this.tls.certFile}`, `--ssl-key=${this.tls.keyFile}`, `--ssl-ca=${this.tls.caFile}`);
    return spawn(this.bins.server, args, {
      cwd: this.dir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', HOME: this.dir },
      stdio: ['ignore', logFd, logFd],
    });
  }

  /** More mariadbd options (Galera's wsrep settings). */
  protected extraServerArgs(): string[] {
    return [];
  }

  private async withConn<T>(database: string | undefined, f: (c: mysql.Connection) => Promise<T>): Promise<T> {
    const c = await mysql.createConnection({ host: this.host, port: this.port, user: this.user, password: this.password, database, connectTimeout: 5000 });
    c.on('error', () => undefined);
    try {
      return await f(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  protected async probe(): Promise<void> {
    // Before the admin user exists only root over the socket works; afterwards either does.
    const c = await mysql.createConnection({ socketPath: this.socketPath, user: 'root', connectTimeout: 2000 });
    c.on('error', () => undefined);
    try {
      await c.query('SELECT 1');
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  async adminQuery(sql: string, database: string | undefined = this.database): Promise<void> {
    await this.withConn(database, async (c) => {
      await c.query(sql);
    });
  }

  async createDatabase(name = uniqueName('db')): Promise<string> {
    checkIdent('database', name);
    await this.adminQuery(`CREATE DATABASE ${name}`, undefined);
    return this.url(name);
  }

  async createRestrictedRole(database: string, name: string, password: string): Promise<string> {
    checkIdent('database', database);
    checkIdent('role', name);
    await this.withConn(undefined, async (c) => {
      await c.query(`CREATE USER '${name}'@'%' IDENTIFIED BY ${sqlString(password)}`);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${database}\`.* TO '${name}'@'%'`);
    });
    return this.url(database, name, password);
  }
}

// ---------------------------------------------------------------------------------------------
// entry points

export function startPostgres(opts: DbStartOptions = {}): Promise<PgInstance> {
  return PgInstance.start(opts);
}

export function startMariaDB(opts: DbStartOptions = {}): Promise<MariaInstance> {
  return MariaInstance.start(opts);
}

let sharedPg: Promise<PgInstance> | undefined;
let sharedMaria: Promise<MariaInstance> | undefined;

/** The test process's Postgres (started on first use, stopped when the process exits). */
export function sharedPostgres(): Promise<PgInstance> {
  if (sharedPg === undefined) {
    sharedPg = startPostgres();
    sharedPg.catch(() => {
      sharedPg = undefined;
    });
  }
  return sharedPg;
}

/** The test process's MariaDB (started on first use, stopped when the process exits). */
export function sharedMariaDB(): Promise<MariaInstance> {
  if (sharedMaria === undefined) {
    sharedMaria = startMariaDB();
    sharedMaria.catch(() => {
      sharedMaria = undefined;
    });
  }
  return sharedMaria;
}

export function sharedDb(kind: DbKind): Promise<DbInstance> {
  return kind === 'postgres' ? sharedPostgres() : sharedMariaDB();
}

export interface TestDatabase {
  instance: DbInstance;
  /** Database name (unique in this instance). */
  name: string;
  /** URL as the admin role (Postgres: `?sslmode=disable`). */
  url: string;
}

/** A fresh database with a unique name on the shared instance of `kind`. */
export async function testDatabase(kind: DbKind, prefix = 't'): Promise<TestDatabase> {
  const instance = await sharedDb(kind);
  const name = uniqueName(prefix);
  const url = await instance.createDatabase(name);
  return { instance, name, url };
}
