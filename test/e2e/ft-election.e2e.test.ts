/**
 * FT election (issue 4): a standby started alone becomes active; two standbys started at once
 * never both become active (20 races, in-process, FILE and Postgres); the lease row lock of a
 * frozen active's open fenced transaction does not block a takeover forever (Postgres,
 * MariaDB); a standby whose database goes away retries with backoff, does not exit, and takes
 * over once the database is back (private Postgres, real processes).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultServerOptions, type ServerOptions } from '../../src/config/options';
import { StreamingServer } from '../../src/stan/streaming-server';
import { Lease } from '../../src/ft/lease';
import { RealNatsServer } from '../helpers/nats-server';
import { startPostgres, type PgInstance } from '../helpers/db';
import { spawnServer, type Proc } from '../helpers/proc';
import { close, publish } from '../helpers/stan';
import { ACTIVE_RE, STANDBY_RE, connectClient, dbKnex, type FtBackend, ftStore, type FtStore, leaseRow, spawnFt, sqlArgs, STEP_DOWN_RE, waitActive } from '../helpers/ft';
import { migrate } from '../../src/store/sql/migrator';

let nats: RealNatsServer;
before(async () => {
  nats = await RealNatsServer.start();
});
after(async () => {
  await nats.stop();
});

function ftOptions(store: FtStore, group: string): ServerOptions {
  const base = defaultServerOptions();
  const dirArg = store.args.indexOf('--dir');
  const srcArg = store.args.indexOf('--sql_source');
  const streaming =
    store.backend === 'file'
      ? { ...base.streaming, storeType: 'FILE' as const, filestoreDir: store.args[dirArg + 1] }
      : {
          ...base.streaming,
          storeType: 'SQL' as const,
          sql: { ...base.streaming.sql, driver: store.backend === 'postgres' ? 'postgres' : 'mysql', source: store.args[srcArg + 1] },
        };
  return {
    streaming: { ...streaming, clusterID: `ft-race-${store.backend}`, natsServerURL: nats.url, ftGroupName: group },
    nats: { ...base.nats, host: '127.0.0.1' },
    explicit: new Set<string>(),
  };
}

describe('FT election', () => {
  // FILE with two processes: better-sqlite3 is synchronous, so two servers of one process
  // would block each other's event loop in SQLite's busy wait (an artefact, not a race).
  test('file: two standby processes started at once never both become active (20 races)', async () => {
    const store = await ftStore('file');
    try {
      for (let i = 0; i < 20; i++) {
        const group = `race-${i}`;
        const procs = [0, 1].map(() => spawnServer(['-ns', nats.url, '-cid', 'ft-race-file', '--ft_group', group, ...store.args]));
        try {
          const first = await Promise.race(procs.map((p, k) => p.waitForLine(ACTIVE_RE, { timeoutMs: 15000 }).then(() => k)));
          await new Promise((r) => setTimeout(r, 700));
          const loser = procs[1 - first];
          await loser.waitForLine(STANDBY_RE);
          assert.ok(!loser.stderrLines.some((l) => ACTIVE_RE.test(l)), `race ${i}: both active\n${loser.output}`);
          const lease = await leaseRow(store.knex, group);
          assert.equal(lease?.epoch, 1, `race ${i}: one acquisition`);
          assert.equal((await loser.stop('SIGTERM')).code, 143, `race ${i}: the standby stops cleanly\n${loser.output}`);
          assert.equal((await procs[first].stop('SIGTERM')).code, 143);
          assert.equal((await leaseRow(store.knex, group))?.owner, '', 'released');
        } finally {
          for (const p of procs) await p.kill();
        }
      }
    } finally {
      await store.cleanup();
    }
  });

  const raceBackends: FtBackend[] = ['postgres'];
  for (const backend of raceBackends) {
    test(`${backend}: two standbys started at once never both become active (20 races, in-process)`, async () => {
      const store = await ftStore(backend);
      try {
        for (let i = 0; i < 20; i++) {
          const group = `race-${i}`;
          const acs = [new AbortController(), new AbortController()];
          const results: Array<StreamingServer | Error | undefined> = [undefined, undefined];
          const starts = acs.map((ac, k) =>
            StreamingServer.start(ftOptions(store, group), { signal: ac.signal }).then(
              (s) => {
                results[k] = s;
                return k;
              },
              (e: unknown) => {
                results[k] = e instanceof Error ? e : new Error(String(e));
                return k;
              },
            ),
          );
          const first = await Promise.race(starts);
          const winner = results[first];
          assert.ok(winner instanceof StreamingServer, `race ${i}: a standby alone becomes active (${String(winner)})`);
          assert.equal(winner.state, 'FT_ACTIVE');
          // The other polls every 200 ms: give it several chances to (wrongly) take over.
          await new Promise((r) => setTimeout(r, 700));
          const loser = 1 - first;
          assert.equal(results[loser], undefined, `race ${i}: the other server stays standby`);
          const lease = await leaseRow(store.knex, group);
          assert.equal(lease?.epoch, 1, `race ${i}: one acquisition`);
          assert.equal(lease?.owner, winner.serverID);
          acs[loser].abort();
          await starts[loser];
          const ended = results[loser] as StreamingServer | Error | undefined;
          assert.ok(ended instanceof Error, `race ${i}: the aborted standby never became active`);
          await winner.shutdown();
          const released = await leaseRow(store.knex, group);
          assert.equal(released?.owner, '', `race ${i}: a clean shutdown releases the lease`);
        }
      } finally {
        await store.cleanup();
      }
    });
  }

  const lockBackends: FtBackend[] = ['postgres', 'mariadb'];
  for (const backend of lockBackends) {
    test(`${backend}: an active frozen inside its fenced transaction does not block the takeover`, async () => {
      const store = await ftStore(backend);
      const srcArg = store.args.indexOf('--sql_source');
      const { openLeaseKnex } = await import('../../src/store/sql/open');
      const spec = { kind: 'sql' as const, driver: backend === 'postgres' ? ('postgres' as const) : ('mysql' as const), source: store.args[srcArg + 1] };
      const ka = await openLeaseKnex(spec, 750);
      const kb = await openLeaseKnex(spec, 750);
      const a = new Lease(ka.knex, ka.dialect, { group: 'frozen', owner: 'A', ttlMs: 1500 });
      const b = new Lease(kb.knex, kb.dialect, { group: 'frozen', owner: 'B', ttlMs: 1500 });
      await a.init();
      await b.init();
      assert.ok(a.idleTxGuard !== undefined, 'the fence guards idle transactions on this database');
      try {
        assert.equal(await a.tryAcquire(), 1);
        // A's store transaction: fenced, then A freezes (never commits) — on its own connection.
        const storeKnex = store.knex;
        const trx = await storeKnex.transaction();
        await a.fence(trx);
        const t0 = performance.now();
        let epoch = 0;
        while (epoch === 0 && performance.now() - t0 < 10000) {
          epoch = await b.tryAcquire().catch(() => 0);
          if (epoch === 0) await new Promise((r) => setTimeout(r, 200));
        }
        const took = performance.now() - t0;
        console.log(`# ft (${backend}) takeover past a frozen active's open transaction: ${took.toFixed(0)} ms`);
        assert.equal(epoch, 2, 'B took over');
        await trx.commit().catch(() => undefined);
        await assert.rejects(async () => {
          const t2 = await storeKnex.transaction();
          try {
            await a.fence(t2);
          } finally {
            await t2.rollback().catch(() => undefined);
          }
        }, /lost/);
      } finally {
        await a.close();
        await b.close();
        await store.cleanup();
      }
    });
  }

  test('postgres: a standby whose database goes away retries, stays up, and takes over when it is back', async () => {
    const pg: PgInstance = await startPostgres();
    const procs: Proc[] = [];
    try {
      const db = 'ftdown';
      await pg.createDatabase(db);
      const k = dbKnex(pg, db);
      await migrate(k);
      await k.destroy();
      const args = sqlArgs(pg, db);
      const cid = 'ft-dbdown';
      const a = await spawnFt({ natsURL: nats.url, clusterID: cid, group: 'down', store: args });
      procs.push(a);
      await waitActive(a);
      const b = await spawnFt({ natsURL: nats.url, clusterID: cid, group: 'down', store: args });
      procs.push(b);

      await pg.stop();
      // The active cannot renew: it steps down (exit 1). The standby logs and keeps retrying.
      await a.waitForLine(STEP_DOWN_RE, { timeoutMs: 10000 });
      assert.equal((await a.waitExit(10000)).code, 1, a.output);
      await b.waitForLine(/ft: cannot reach the lease \(will retry\)/, { timeoutMs: 10000 });
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(b.exit, undefined, `the standby is still running\n${b.output}`);
      const errLines = b.stderrLines.filter((l) => /cannot reach the lease/.test(l)).length;
      assert.equal(errLines, 1, `the outage is logged once, not on every retry\n${b.output}`);

      await pg.restart();
      await b.waitForLine(/ft: database reachable again/, { timeoutMs: 20000 });
      await waitActive(b, 20000);
      const sc = await connectClient(nats.url, cid, 'after-outage');
      try {
        await publish(sc, 'x', 'hello');
      } finally {
        await close(sc);
      }
    } finally {
      for (const p of procs) await p.kill();
      await pg.destroy();
    }
  });
});
