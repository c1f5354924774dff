/**
 * The FT lease (src/ft/lease.ts, unchanged) with two holders on two different nodes of a real
 * three-node MariaDB Galera cluster (test/helpers/galera.ts): what Galera changes for the
 * fence (docs/clustering.md, "Galera and the lease").
 *
 *   1. Row locks are node-local: a takeover on node 2 does not wait for the holder's open
 *      fenced transaction on node 1 (on one MariaDB it would). The holder's commit then fails
 *      certification: error 1213 (deadlock), nothing of it is committed.
 *   2. Two holders competing on two nodes, with renewals skipped so that takeovers happen
 *      while the other holder is writing: every committed fenced write carries the lease's
 *      `writes` counter it incremented, which orders the commits; along that order the epochs
 *      never go back, and each epoch has one owner: the single-writer guarantee holds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Knex } from 'knex';
import knexFactory from 'knex';
import { Lease, LeaseLostError } from '../../src/ft/lease';
import { openLeaseKnex } from '../../src/store/sql/open';
import { startGalera, type GaleraCluster } from '../helpers/galera';

let g: GaleraCluster;
const knexes: Knex[] = [];

function nodeUrl(i: number): string {
  const n = g.nodes[i];
  if (n === undefined) throw new Error(`no node ${i}`);
  return n.url();
}

function writer(i: number): Knex {
  const k = knexFactory({ client: 'mysql2', connection: nodeUrl(i), pool: { min: 0, max: 2 } });
  knexes.push(k);
  return k;
}

async function lease(i: number, owner: string, group: string, ttlMs: number): Promise<Lease> {
  const { knex } = await openLeaseKnex({ kind: 'sql', driver: 'mysql', source: nodeUrl(i) }, Math.min(1000, ttlMs / 2));
  knexes.push(knex);
  const l = new Lease(knex, 'mysql', { group, owner, ttlMs });
  await l.init();
  return l;
}

before(async () => {
  g = await startGalera(3);
  const k = writer(0);
  const ddl = fs.readFileSync(path.resolve(__dirname, '../../sql/mysql/0002_ft_lease.sql'), 'utf8');
  const create = ddl.split(';').map((s) => s.replace(/^\s*--.*$/gm, '').trim()).find((s) => s.startsWith('create table'));
  if (create === undefined) throw new Error('no create table in 0002_ft_lease.sql');
  await k.raw(create);
  await k.raw('CREATE TABLE fenced_writes (id BIGINT AUTO_INCREMENT PRIMARY KEY, grp VARCHAR(64) NOT NULL, owner VARCHAR(64) NOT NULL, epoch BIGINT NOT NULL, writes BIGINT NOT NULL)');
});

after(async () => {
  await Promise.all(knexes.map((k) => k.destroy().catch(() => undefined)));
  await g?.destroy();
});

function errno(err: unknown): number | undefined {
  const e = err as { errno?: unknown } | null;
  return typeof e?.errno === 'number' ? e.errno : undefined;
}

/** One fenced write, as the store does it: fence first, then the write, in one transaction. */
async function fencedWrite(k: Knex, l: Lease, grp: string, owner: string): Promise<void> {
  await k.transaction(async (trx) => {
    await l.fence(trx);
    const row = (await trx('stan_lease').select('writes').where('group_name', grp).first()) as { writes: number | string };
    await trx('fenced_writes').insert({ grp, owner, epoch: l.epoch, writes: Number(row.writes) });
  });
}

async function until<T>(what: string, f: () => Promise<T | undefined>, attempts = 2000): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}

test('a takeover on another node does not wait for the holder\'s open fenced transaction; the holder\'s commit fails certification (1213)', async () => {
  const grp = 'g_cert';
  const ttl = 1500;
  const a = await lease(0, 'A', grp, ttl);
  const b = await lease(1, 'B', grp, ttl);
  assert.ok((await a.tryAcquire()) > 0);
  const kA = writer(0);
  const trx = await kA.transaction();
  await a.fence(trx);
  await trx('fenced_writes').insert({ grp, owner: 'A', epoch: a.epoch, writes: 0 });
  // A's transaction holds the lease row's lock on node 1 and stays open (a frozen holder).
  // B, on node 2, takes over once the lease expired by node 2's clock: no lock wait.
  const epochB = await until('B to take over on node 2', async () => ((await b.tryAcquire()) > 0 ? b.epoch : undefined));
  assert.equal(epochB, a.epoch + 1);
  // Knex reports a failed COMMIT through the transaction's promise, not commit()'s.
  let commitErr: unknown;
  await trx.commit().catch(() => undefined);
  try {
    await trx.executionPromise;
  } catch (err) {
    commitErr = err;
  }
  assert.ok(commitErr !== undefined, 'the old holder\'s commit must fail');
  // 1213: certification failure / brute-force abort; 1927/2013: the session was ended by the
  // idle-transaction guard first (also a refusal). Either way nothing of A is committed.
  assert.ok([1213, 1927, 2013, 4031].includes(errno(commitErr) ?? -1) || /deadlock|connection|closed/i.test(String(commitErr)), String(commitErr));
  const rows = await writer(2)('fenced_writes').where({ grp, owner: 'A' });
  assert.equal(rows.length, 0, 'nothing of the old holder is committed');
  // And its next fence says it lost the lease.
  await assert.rejects(fencedWrite(writer(0), a, grp, 'A'), LeaseLostError);
  console.log(`# old holder's commit failed with errno ${String(errno(commitErr))}: ${String(commitErr).slice(0, 160)}`);
});

test('two holders on two Galera nodes competing for the lease: one writer per epoch, epochs never go back in commit order', async () => {
  const grp = 'g_race';
  const ttl = 400;
  const holders = [
    { l: await lease(0, 'A', grp, ttl), k: writer(0), owner: 'A' },
    { l: await lease(1, 'B', grp, ttl), k: writer(1), owner: 'B' },
  ];
  const stats = { commits: 0, conflicts1213: 0, lost: 0, takeovers: 0, other: 0 };
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const run = async (h: (typeof holders)[number]): Promise<void> => {
    for (let i = 0; i < 200; i++) {
      try {
        if (h.l.epoch === 0) {
          if ((await h.l.tryAcquire()) > 0) stats.takeovers++;
          else await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        // Now and then a holder pauses past the lease's TTL (a GC pause, a frozen VM) and then
        // writes without renewing: the other node takes over meanwhile. Otherwise it renews.
        const r = rnd();
        if (r < 0.08) {
          await new Promise((res) => setTimeout(res, ttl * 1.5));
        } else if (r < 0.6 && !(await h.l.renew())) {
          h.l.epoch = 0;
          stats.lost++;
          continue;
        }
        await fencedWrite(h.k, h.l, grp, h.owner);
        stats.commits++;
      } catch (err) {
        if (err instanceof LeaseLostError) {
          h.l.epoch = 0;
          stats.lost++;
        } else if (errno(err) === 1213) stats.conflicts1213++;
        else stats.other++;
      }
    }
  };
  await Promise.all(holders.map(run));
  console.log(`# ${JSON.stringify(stats)}`);
  const rows = (await writer(2).raw('SELECT owner, epoch, writes FROM fenced_writes WHERE grp = ? ORDER BY writes', [grp])) as [
    Array<{ owner: string; epoch: number | string; writes: number | string }>,
  ];
  const list = rows[0].map((r) => ({ owner: r.owner, epoch: Number(r.epoch), writes: Number(r.writes) }));
  assert.ok(list.length > 0 && stats.takeovers >= 2, `the race needs commits and takeovers: ${JSON.stringify(stats)}`);
  assert.equal(new Set(list.map((r) => r.writes)).size, list.length, 'two commits saw the same lease version');
  const ownerOf = new Map<number, string>();
  let last = 0;
  for (const r of list) {
    assert.ok(r.epoch >= last, `epoch ${r.epoch} committed after epoch ${last} (writes ${r.writes})`);
    last = r.epoch;
    const o = ownerOf.get(r.epoch);
    assert.ok(o === undefined || o === r.owner, `epoch ${r.epoch} written by ${o} and ${r.owner}`);
    ownerOf.set(r.epoch, r.owner);
  }
  console.log(`# ${list.length} fenced commits over ${ownerOf.size} epochs, owners ${[...new Set(list.map((r) => r.owner))].join(',')}`);
});
