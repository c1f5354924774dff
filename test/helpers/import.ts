/**
 * Helpers of the import e2e tests: target stores (FILE, PostgreSQL, MariaDB) as server flags,
 * reference sources as import flags, running `nats-streaming-server import`, and reading the
 * target's monitoring and message rows for comparisons.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory from 'knex';
import { testDatabase, type DbKind } from './db';
import { httpGet } from './http';
import { freePort, spawnServer, startServerProc, type ExitResult, type Proc } from './proc';
import { FIXTURES, FIXTURE_KEY, type Variant } from './reference-fixtures';
import { loadReferenceDump } from './reference-sql';

export type TargetKind = 'file' | 'postgres' | 'mariadb';

export interface Target {
  kind: TargetKind;
  /** The server's store flags for this target. */
  flags: string[];
  /** Knex config to read its tables (FILE: the SQLite file). */
  knex: () => knexFactory.Knex;
}

const tmpDirs: string[] = [];
process.on('exit', () => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}

export async function newTarget(kind: TargetKind): Promise<Target> {
  if (kind === 'file') {
    const dir = path.join(tempDir('imp-target-'), 'store');
    return {
      kind,
      flags: ['-store', 'file', '-dir', dir],
      knex: () => knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dir, 'stan.db') }, useNullAsDefault: true }),
    };
  }
  const t = await testDatabase(kind, 'imptgt');
  return {
    kind,
    flags: ['-store', 'sql', '--sql_driver', kind === 'postgres' ? 'postgres' : 'mysql', '--sql_source', t.url, '--sql_auto_migrate'],
    knex: () => knexFactory({ client: kind === 'postgres' ? 'pg' : 'mysql2', connection: t.url, pool: { min: 0, max: 1 } }),
  };
}

/** The import flags naming a fixture (SQL dumps are loaded into a new database first). */
export async function fixtureSource(variant: Variant): Promise<string[]> {
  if (variant === 'file') return ['--from_dir', path.join(FIXTURES, 'file')];
  if (variant === 'file-encrypted') return ['--from_dir', path.join(FIXTURES, 'file-encrypted'), '--from_encryption_key', FIXTURE_KEY];
  const kind: DbKind = variant === 'postgres' ? 'postgres' : 'mariadb';
  const t = await testDatabase(kind, 'impsrc');
  await loadReferenceDump(kind, t.instance, t.name);
  return ['--from_sql_driver', kind === 'postgres' ? 'postgres' : 'mysql', '--from_sql_source', t.url];
}

export const FIXTURE_CONF = path.join(FIXTURES, 'gen', 'fixture.conf');

/** Runs `nats-streaming-server import …` to its end. */
export async function runImport(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ proc: Proc; exit: ExitResult }> {
  const proc = spawnServer(['import', ...args], { env: opts.env ?? { ...process.env, NATS_STREAMING_ENCRYPTION_KEY: '' } });
  const exit = await proc.waitExit(opts.timeoutMs ?? 120_000);
  return { proc, exit };
}

export async function getJson<T>(port: number, p: string): Promise<T> {
  const r = await httpGet(port, p);
  return JSON.parse(r.body) as T;
}

/** Every message row of the target, in key order, as comparable strings. */
export async function messageRows(t: Target): Promise<string[]> {
  const k = t.knex();
  try {
    const rows = (await k('stan_messages').select('channel_id', 'seq', 'ts', 'size', 'data').orderBy(['channel_id', 'seq'])) as Array<{ channel_id: unknown; seq: unknown; ts: unknown; size: unknown; data: Buffer }>;
    return rows.map((r) => `${String(r.channel_id)}:${String(r.seq)}:${String(r.ts)}:${String(r.size)}:${Buffer.from(r.data).toString('hex')}`);
  } finally {
    await k.destroy();
  }
}

/** Row counts of our tables (0 for a table that does not exist). */
export async function rowCounts(t: Target): Promise<Record<string, number>> {
  const k = t.knex();
  const out: Record<string, number> = {};
  try {
    for (const table of ['stan_server', 'stan_events', 'stan_messages', 'stan_snapshots', 'stan_import']) {
      if (!(await k.schema.hasTable(table))) {
        out[table] = 0;
        continue;
      }
      const r = (await k(table).count({ n: '*' }).first()) as { n: unknown } | undefined;
      out[table] = Number(r?.n ?? 0);
    }
    return out;
  } finally {
    await k.destroy();
  }
}

interface ChannelsWithSubs {
  channels: Array<{ last_seq: number; subscriptions?: Array<{ is_offline: boolean; is_stalled: boolean; last_sent: number }> }>;
}

/** Every subscription of a connected client has taken what it can: stalled, or at the channel's end. */
function deliveriesSettled(cz: ChannelsWithSubs): boolean {
  return cz.channels.every((c) => (c.subscriptions ?? []).every((s) => s.is_offline || s.is_stalled || s.last_sent >= c.last_seq));
}

/**
 * What the server shows for a target: channels with subscriptions, and clients with theirs.
 * `settled`: read once the restored subscriptions of registered clients have been sent what
 * they can take (the server delivers to them right after its start, after reading their
 * pending messages; reading earlier races with that).
 */
export async function monitoringOf(t: Target, cid: string, opts: { settled?: boolean } = {}): Promise<unknown> {
  const mport = await freePort();
  const s = await startServerProc([...t.flags, '-cid', cid, '-m', String(mport)]);
  try {
    let cz = await getJson<ChannelsWithSubs>(mport, '/streaming/channelsz?subs=1');
    while (opts.settled === true && !deliveriesSettled(cz)) {
      await new Promise((r) => setTimeout(r, 50));
      cz = await getJson<ChannelsWithSubs>(mport, '/streaming/channelsz?subs=1');
    }
    const cl = await getJson<{ clients: unknown }>(mport, '/streaming/clientsz?subs=1');
    return { channels: cz.channels, clients: cl.clients };
  } finally {
    await s.proc.stop();
  }
}
