/**
 * Store environments for `npm run bench`: which server flags give each run a fresh store, and
 * how to count the event store's rows (soak).
 *
 *   memory  no flags.
 *   file    `-store file -dir <fresh temp dir>` per store (removed at the end).
 *   sql     `-store sql --sql_driver D --sql_source URL --sql_auto_migrate`; without
 *           --sql-source the bench starts its own Postgres 15 / MariaDB 10.11 through
 *           scripts/bench-db.ts (which runs test/helpers/db.ts under tsx: one copy of the
 *           database start-up code, shared with the tests) and creates a database per store.
 *           With --sql-source every run uses that database (fresh channel names per run).
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PACKAGE_ROOT } from '../paths';

export type StoreKind = 'memory' | 'file' | 'sql';
export type SqlDriver = 'postgres' | 'mysql';

export interface RowCounts {
  messages: number;
  events: number;
  snapshots: number;
}

/** One store (a temp dir or a database): the server flags that open it, and a row counter. */
export interface StoreInstance {
  args: string[];
  /** Human description (dir or URL without password). */
  where: string;
  counts(): Promise<RowCounts | null>;
  close(): Promise<void>;
}

export interface StoreEnv {
  kind: StoreKind;
  driver: SqlDriver | null;
  label: string;
  /** A fresh store (new temp dir / new database). */
  fresh(): Promise<StoreInstance>;
  close(): Promise<void>;
}


const COUNT_SQL =
  'SELECT (SELECT COUNT(*) FROM stan_messages) AS m, (SELECT COUNT(*) FROM stan_events) AS e, (SELECT COUNT(*) FROM stan_snapshots) AS s';

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@]*@/, '//$1:***@');
}

// ---------------------------------------------------------------------------------------------

class MemoryEnv implements StoreEnv {
  kind = 'memory' as const;
  driver = null;
  label = 'MEMORY';
  fresh(): Promise<StoreInstance> {
    return Promise.resolve({ args: [], where: 'memory', counts: () => Promise.resolve(null), close: () => Promise.resolve() });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

class FileEnv implements StoreEnv {
  kind = 'file' as const;
  driver = null;
  label = 'FILE (SQLite)';
  private readonly dirs: string[] = [];
  fresh(): Promise<StoreInstance> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-bench-file-'));
    this.dirs.push(dir);
    const file = path.join(dir, 'stan.db');
    type Db = { prepare(sql: string): { get(): unknown }; close(): void };
    let db: Db | null = null;
    return Promise.resolve({
      args: ['-store', 'file', '-dir', dir],
      where: dir,
      counts: async (): Promise<RowCounts | null> => {
        if (!fs.existsSync(file)) return null;
        if (db === null) {
          const { default: BetterSqlite3 } = await import('better-sqlite3');
          db = new BetterSqlite3(file, { readonly: true, fileMustExist: true }) as unknown as Db;
        }
        const r = db.prepare(COUNT_SQL).get() as { m: number; e: number; s: number };
        return { messages: Number(r.m), events: Number(r.e), snapshots: Number(r.s) };
      },
      close: () => {
        db?.close();
        db = null;
        return Promise.resolve();
      },
    });
  }
  close(): Promise<void> {
    for (const d of this.dirs) fs.rmSync(d, { recursive: true, force: true });
    return Promise.resolve();
  }
}

/** Counts rows through pg or mysql2 (the server's own drivers). */
async function sqlCounter(driver: SqlDriver, url: string): Promise<{ counts: () => Promise<RowCounts>; close: () => Promise<void> }> {
  if (driver === 'postgres') {
    const { Client } = await import('pg');
    const c = new Client({ connectionString: url });
    c.on('error', () => undefined);
    await c.connect();
    return {
      counts: async () => {
        const r = await c.query<{ m: string; e: string; s: string }>(COUNT_SQL);
        const row = r.rows[0];
        return { messages: Number(row.m), events: Number(row.e), snapshots: Number(row.s) };
      },
      close: () => c.end().catch(() => undefined),
    };
  }
  const mysql = await import('mysql2/promise');
  const c = await mysql.createConnection(url);
  c.on('error', () => undefined);
  return {
    counts: async () => {
      const [rows] = await c.query(COUNT_SQL);
      const row = (rows as Array<{ m: number | string; e: number | string; s: number | string }>)[0];
      return { messages: Number(row.m), events: Number(row.e), snapshots: Number(row.s) };
    },
    close: () => c.end().catch(() => undefined),
  };
}

class SqlEnv implements StoreEnv {
  kind = 'sql' as const;
  label: string;
  private helper: ChildProcess | null = null;
  private replies: Array<(line: Record<string, unknown>) => void> = [];

  constructor(
    readonly driver: SqlDriver,
    private readonly source: string | null,
  ) {
    this.label = driver === 'postgres' ? 'SQL (PostgreSQL)' : 'SQL (MariaDB)';
  }

  /** Starts the private database server (when no --sql-source). */
  async start(log: (l: string) => void): Promise<void> {
    if (this.source !== null) return;
    const script = path.join(PACKAGE_ROOT, 'scripts', 'bench-db.ts');
    const kind = this.driver === 'postgres' ? 'postgres' : 'mariadb';
    const t0 = Date.now();
    const p = spawn(process.execPath, ['--import', 'tsx', script, kind], { cwd: PACKAGE_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    this.helper = p;
    const rl = readline.createInterface({ input: p.stdout! });
    rl.on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const r = this.replies.shift();
      r?.(msg);
    });
    const first = await this.next();
    if (typeof first.error === 'string') throw new Error(`${kind} did not start: ${first.error}`);
    log(`${kind} started by scripts/bench-db.ts in ${((Date.now() - t0) / 1000).toFixed(1)} s (${String(first.dir)}, port ${String(first.port)})`);
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const p = this.helper;
      if (p === null) return reject(new Error('no database helper'));
      const onExit = (): void => reject(new Error('database helper exited'));
      p.once('exit', onExit);
      this.replies.push((m) => {
        p.removeListener('exit', onExit);
        resolve(m);
      });
    });
  }

  async fresh(): Promise<StoreInstance> {
    let url = this.source;
    if (url === null) {
      const reply = this.next();
      this.helper?.stdin?.write('createdb\n');
      const r = await reply;
      if (typeof r.url !== 'string') throw new Error(`createdb failed: ${String(r.error)}`);
      url = r.url;
    }
    const u = url;
    let counter: Awaited<ReturnType<typeof sqlCounter>> | null = null;
    return {
      args: ['-store', 'sql', '--sql_driver', this.driver, '--sql_source', u, '--sql_auto_migrate'],
      where: redact(u),
      counts: async () => {
        counter ??= await sqlCounter(this.driver, u);
        return counter.counts();
      },
      close: async () => {
        await counter?.close();
        counter = null;
      },
    };
  }

  async close(): Promise<void> {
    const p = this.helper;
    if (p === null || p.exitCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.stdin?.write('stop\n');
    p.stdin?.end();
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await done;
    clearTimeout(t);
  }
}

export async function openEnv(kind: StoreKind, driver: SqlDriver, source: string | null, log: (l: string) => void): Promise<StoreEnv> {
  if (kind === 'memory') return new MemoryEnv();
  if (kind === 'file') return new FileEnv();
  const env = new SqlEnv(driver, source);
  await env.start(log);
  return env;
}
