/**
 * Helpers of the fault-tolerance tests (test/e2e/ft-*): a shared store for an FT pair (FILE =
 * SQLite in a directory, or a fresh Postgres/MariaDB database, migrated to the current
 * schema), FT server processes on a real external nats-server, direct database reads of the
 * lease row and the stored messages, and a continuous async publisher that records acks.
 */
import { after, before, describe, test } from 'node:test';
import { connectPersistent, readAll } from './durability';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { MIGRATIONS } from '../../migrations';
import { migrate } from '../../src/store/sql/migrator';
import { SQLITE_FILE } from '../../src/store/sql/open';
import { sharedDb, uniqueName, type DbInstance, type DbKind } from './db';
import { spawnServer, type Proc } from './proc';
import { RealNatsServer } from './nats-server';
import type { Message, Stan } from './stan';

export type FtBackend = 'file' | DbKind;

/** The store of an FT pair: the flags both servers get, and direct access for assertions. */
export interface FtStore {
  backend: FtBackend;
  args: string[];
  knex: Knex;
  cleanup(): Promise<void>;
}

/** Knex on a database of a (shared or private) instance. */
export function dbKnex(instance: DbInstance, database: string): Knex {
  const connection = { host: instance.host, port: instance.port, user: instance.user, password: instance.password, database };
  return instance.kind === 'postgres'
    ? knexFactory({ client: 'pg', connection, pool: { min: 0, max: 2 } })
    : knexFactory({ client: 'mysql2', connection, pool: { min: 0, max: 2 } });
}

/** Server flags for an SQL store on `database` of `instance`. */
export function sqlArgs(instance: DbInstance, database: string): string[] {
  return ['--store', 'sql', '--sql_driver', instance.kind === 'postgres' ? 'postgres' : 'mysql', '--sql_source', instance.url(database)];
}

/**
 * A fresh store for an FT pair. `schema` 'current' applies every migration first (so two
 * servers starting together do not race on migrating); 'v1' applies only 0001.
 */
export async function ftStore(backend: FtBackend, schema: 'current' | 'v1' = 'current', instance?: DbInstance): Promise<FtStore> {
  const migrations = schema === 'current' ? MIGRATIONS : MIGRATIONS.slice(0, 1);
  if (backend === 'file') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-ft-'));
    const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dir, SQLITE_FILE) }, useNullAsDefault: true, pool: { min: 0, max: 1 } });
    // As the server creates it: in WAL mode.
    await knex.raw('PRAGMA journal_mode = WAL');
    await migrate(knex, { migrations });
    return {
      backend,
      args: ['--store', 'file', '--dir', dir],
      knex,
      cleanup: async () => {
        await knex.destroy();
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
      },
    };
  }
  const inst = instance ?? (await sharedDb(backend));
  const name = uniqueName('ft');
  await inst.createDatabase(name);
  const knex = dbKnex(inst, name);
  await migrate(knex, { migrations });
  return { backend, args: sqlArgs(inst, name), knex, cleanup: () => knex.destroy() };
}

export interface LeaseRow {
  group_name: string;
  owner: string;
  epoch: number;
  expires_at: number;
}

export async function leaseRow(knex: Knex, group: string): Promise<LeaseRow | undefined> {
  const r = (await knex('stan_lease').where('group_name', group).first()) as
    | { group_name: string; owner: string; epoch: number | string; expires_at: number | string }
    | undefined;
  return r === undefined ? undefined : { ...r, epoch: Number(r.epoch), expires_at: Number(r.expires_at) };
}

/**
 * Sequences of every stored message (straight from stan_messages). Channels live in the event
 * log, not in a table: the FT tests publish on one channel, so one channel_id is expected.
 */
export async function storedSeqs(knex: Knex): Promise<number[]> {
  const rows = (await knex('stan_messages').select('channel_id', 'seq').orderBy(['channel_id', 'seq'])) as Array<{
    channel_id: number | string;
    seq: number | string;
  }>;
  const ids = new Set(rows.map((r) => Number(r.channel_id)));
  if (ids.size > 1) throw new Error(`expected one channel in stan_messages, found ${ids.size}`);
  return rows.map((r) => Number(r.seq));
}

export async function tableCount(knex: Knex, table: string): Promise<number> {
  const r = (await knex(table).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(r?.n ?? 0);
}

export const ACTIVE_RE = /ft: this server is now active \(group "[^"]*", epoch (\d+)\)/;
export const STANDBY_RE = /ft: starting in standby mode/;
export const STEP_DOWN_RE = /ft: stepping down, this server is no longer the active one/;

export interface FtServerOpts {
  natsURL: string;
  clusterID: string;
  group: string;
  store: FtStore | string[];
  extra?: string[];
}

/** Spawns one FT server (`-ns` external NATS); resolves once it printed the standby line. */
export async function spawnFt(o: FtServerOpts): Promise<Proc> {
  const storeArgs = Array.isArray(o.store) ? o.store : o.store.args;
  const proc = spawnServer(['-ns', o.natsURL, '-cid', o.clusterID, '--ft_group', o.group, ...storeArgs, ...(o.extra ?? [])]);
  await proc.waitForLine(STANDBY_RE, { timeoutMs: 15000 });
  return proc;
}

/** Waits for "Streaming Server is ready" after "now active". */
export async function waitActive(p: Proc, timeoutMs = 15000): Promise<number> {
  const line = await p.waitForLine(ACTIVE_RE, { timeoutMs });
  await p.waitForLine(/Streaming Server is ready/, { timeoutMs });
  return Number(ACTIVE_RE.exec(line)?.[1]);
}

/** Every store an FT group can share: FILE (SQLite in a directory), PostgreSQL, MariaDB. */
export const FT_BACKENDS: readonly FtBackend[] = ['file', 'postgres', 'mariadb'];

/** What one backend's run of {@link withFtBackends} gets. */
export interface FtCase {
  backend: FtBackend;
  natsURL: string;
  /** A fresh, migrated store, dropped after the test. */
  store: FtStore;
  /** {@link spawnFt} on this case's NATS and store; the process is killed after the test. */
  spawn(o: Omit<FtServerOpts, 'natsURL' | 'store'>): Promise<Proc>;
}

/**
 * A describe block `title` with one test per backend (`<backend>: <name>`), all on one real
 * nats-server started for the block: each test gets a fresh store, and every server it
 * spawned is killed (-9) and the store dropped when it ends, pass or fail.
 */
export function withFtBackends(title: string, name: string, body: (c: FtCase) => Promise<void>, backends: readonly FtBackend[] = FT_BACKENDS): void {
  describe(title, () => {
    let nats: RealNatsServer | undefined;
    before(async () => {
      nats = await RealNatsServer.start();
    });
    after(async () => {
      await nats?.stop();
    });
    for (const backend of backends) {
      test(`${backend}: ${name}`, async () => {
        if (nats === undefined) throw new Error('nats-server did not start');
        const natsURL = nats.url;
        const store = await ftStore(backend);
        const procs: Proc[] = [];
        const spawn = async (o: Omit<FtServerOpts, 'natsURL' | 'store'>): Promise<Proc> => {
          const p = await spawnFt({ ...o, natsURL, store });
          procs.push(p);
          return p;
        };
        try {
          await body({ backend, natsURL, store, spawn });
        } finally {
          for (const p of procs) await p.kill();
          await store.cleanup();
        }
      });
    }
  });
}

/** A node-nats-streaming client that rides out NATS reconnects (same STAN client throughout). */
export const connectClient = connectPersistent;

/**
 * Publishes `${prefix}${i}` continuously (async, at most `window` outstanding) until stopped;
 * records acked payloads with their ack time. Publishes that time out (nobody active) are
 * recorded as failed: the client retries nothing, so they must simply not be stored twice.
 */
export class ContinuousPublisher {
  readonly acked = new Map<string, number>();
  readonly failed = new Map<string, string>();
  sent = 0;
  private outstanding = 0;
  private lastSend = 0;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly done: Promise<void>;
  private ackWaiters: Array<{ after: number; resolve: (t: number) => void }> = [];

  constructor(
    private readonly sc: Stan,
    private readonly subject: string,
    private readonly window = 20,
    private readonly prefix = 'm',
  ) {
    this.done = this.run();
  }

  private settle(): void {
    this.outstanding--;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async run(): Promise<void> {
    for (let i = 1; !this.stopped; i++) {
      // A full window waits for acks, but one publish still goes out every 20 ms: publishes
      // sent while no server is active are never answered (they time out after ackTimeout),
      // and the failover time must not be measured in client timeouts.
      while (this.outstanding >= this.window && !this.stopped && performance.now() - this.lastSend < 20) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, 20);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
      if (this.stopped) break;
      this.lastSend = performance.now();
      const payload = `${this.prefix}${i}`;
      const sentAt = performance.now();
      this.outstanding++;
      this.sent++;
      try {
        this.sc.publish(this.subject, payload, (err) => {
          if (err) this.failed.set(payload, err.message);
          else {
            const t = performance.now();
            this.acked.set(payload, t);
            this.ackWaiters = this.ackWaiters.filter((w) => {
              if (sentAt >= w.after) {
                w.resolve(t);
                return false;
              }
              return true;
            });
          }
          this.settle();
        });
      } catch (err) {
        this.failed.set(payload, err instanceof Error ? err.message : String(err));
        this.settle();
      }
      // Pace it a little: a steady stream, not a flood (2 cores run the pair, NATS and the DB).
      await new Promise((r) => setTimeout(r, 2));
    }
    while (this.outstanding > 0) await new Promise<void>((r) => (this.wake = r));
  }

  /** Resolves with the time of the first ack of a publish sent at or after `after` (performance.now()). */
  firstAckOfPublishSentAfter(after: number, timeoutMs = 20000): Promise<number> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no PubAck for a publish sent after the mark within ${timeoutMs} ms (acked ${this.acked.size}, failed ${this.failed.size})`)), timeoutMs);
      this.ackWaiters.push({
        after,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
      });
    });
  }

  /** Waits until `n` more acks arrived. */
  async waitAcks(n: number, timeoutMs = 20000): Promise<void> {
    const target = this.acked.size + n;
    const deadline = performance.now() + timeoutMs;
    while (this.acked.size < target) {
      if (performance.now() > deadline) throw new Error(`only ${this.acked.size} of ${target} acks within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops publishing and waits for every outstanding publish to settle (ack, error, timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
    await this.done;
  }
}

/** Reads the whole channel with a fresh subscriber (FT tests: bigger window, longer waits). */
export function readChannel(url: string, clusterID: string, channel: string, count: number, timeoutMs = 20000): Promise<Message[]> {
  return readAll(url, clusterID, channel, count, timeoutMs, { maxInFlight: 20_000, settleMs: 300 });
}

/**
 * The exactly-once check: every acked payload stored once, no payload twice, sequences
 * 1..n, and the database holds exactly the messages a fresh subscriber reads.
 */
export function checkExactlyOnce(msgs: Message[], acked: Iterable<string>, dbSeqs: number[]): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const m of msgs) {
    const d = String(m.getData());
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  const dups = [...counts].filter(([, c]) => c > 1).map(([d]) => d);
  if (dups.length > 0) problems.push(`stored twice: ${dups.slice(0, 10).join(',')}`);
  const missing = [...acked].filter((p) => !counts.has(p));
  if (missing.length > 0) problems.push(`${missing.length} acked but not stored: ${missing.slice(0, 10).join(',')}`);
  const seqs = msgs.map((m) => m.getSequence()).sort((a, b) => a - b);
  if (seqs.some((s, i) => s !== i + 1)) problems.push('sequences not contiguous from 1');
  if (dbSeqs.length !== seqs.length || dbSeqs.some((s, i) => s !== seqs[i])) {
    problems.push(`database rows (${dbSeqs.length}, last ${dbSeqs.at(-1)}) differ from what is served (${seqs.length})`);
  }
  return problems;
}

/**
 * A refused start: non-zero exit by itself, one [FTL] line on stderr matching `re`, no stack
 * trace anywhere.
 */
export function assertRefused(proc: Proc, re: RegExp): string {
  if (proc.exit === undefined) throw new Error('still running');
  const all = [...proc.stdoutLines, ...proc.stderrLines];
  const problems: string[] = [];
  if (proc.exit.code === 0 || proc.exit.code === null) problems.push(`exit ${JSON.stringify(proc.exit)}`);
  if (all.some((l) => /^\s+at\s|node:internal|\(\/.*\.js:\d+:\d+\)/.test(l))) problems.push('stack trace');
  const fatal = proc.stderrLines.filter((l) => /\[FTL\]/.test(l));
  if (fatal.length !== 1) problems.push(`${fatal.length} fatal lines`);
  else if (!re.test(fatal[0])) problems.push(`fatal line does not match ${re}`);
  if (problems.length > 0) throw new Error(`${problems.join('; ')}\n${proc.output}`);
  return fatal[0];
}
