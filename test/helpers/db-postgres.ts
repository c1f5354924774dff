/** A private PostgreSQL server for the SQL-store tests (started through db.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { BaseInstance, type DbStartOptions, type TlsStartOptions } from './db-instance';
import { generateTestCerts, tlsOptions } from './db-tls';
import { checkIdent, findExecutable, isRoot, lookupUser, pathDirs, pgString, run, uniqueName, type OsUser } from './db-util';

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

  static start(opts: DbStartOptions = {}): Promise<PgInstance> {
    const inst = new PgInstance(fs.mkdtempSync(path.join(os.tmpdir(), 'stan-pg-')));
    return BaseInstance.startOrRemove(inst, () => inst.init(tlsOptions(opts)));
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
