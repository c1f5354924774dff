/** A private MariaDB server for the SQL-store tests (started through db.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as mysql from 'mysql2/promise';
import { BaseInstance, type DbStartOptions, type TlsStartOptions } from './db-instance';
import { generateTestCerts, tlsOptions } from './db-tls';
import { checkIdent, findExecutable, isRoot, pathDirs, run, sqlString, uniqueName } from './db-util';

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

  static start(opts: DbStartOptions = {}): Promise<MariaInstance> {
    const inst = new MariaInstance(fs.mkdtempSync(path.join(os.tmpdir(), 'stan-maria-')));
    return BaseInstance.startOrRemove(inst, () => inst.init(tlsOptions(opts)));
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
