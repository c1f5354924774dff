/**
 * "The port accepts connections" means "STAN connects are answered" (issue 9, item 1).
 *
 * A client that connects the instant the server's port accepts (wait-for-port scripts,
 * docker compose and Kubernetes start-ups, test harnesses) must get its STAN connect
 * answered: the Node client does not retry a connect that timed out, and the Go client fails
 * at once on a no-responders status. Proven for every store on 20 starts each in
 * startup-window-<store>.e2e.test.ts (test/helpers/startup-window.ts).
 *
 * With -ns the port is not ours: connect requests that arrive while the store recovers are
 * held and answered once the server serves, or answered with an error if the start-up fails.
 * A database that cannot be reached ends the start-up with a clear error and the client port
 * never opens.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ftStore } from '../helpers/ft';
import { RealNatsServer } from '../helpers/nats-server';
import { canConnect, freePort, READY_RE, spawnServer, type Proc } from '../helpers/proc';
import { createInbox, discoverSubject, rawNats } from '../helpers/raw';
import { sleep } from '../helpers/stan';
import { ConnectRequestCodec, ConnectResponseCodec } from '../../src/protocol/codec';

const CID = 'startup-window';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

describe('a database that cannot be reached at start-up', () => {
  const cases = [
    { driver: 'postgres', name: 'PostgreSQL', source: (p: number) => `postgres://stan:s3cret-pw@127.0.0.1:${p}/stan`, shown: (p: number) => `postgres://stan:***@127.0.0.1:${p}/stan` },
    { driver: 'mysql', name: 'MySQL/MariaDB', source: (p: number) => `stan:s3cret-pw@tcp(127.0.0.1:${p})/stan`, shown: (p: number) => `stan:***@tcp(127.0.0.1:${p})/stan` },
  ];
  for (const c of cases) {
    test(`${c.driver}: says which store and source (password redacted) and what to check; the client port never opened`, async () => {
      const dbPort = await freePort(); // nothing listens there
      const port = await freePort();
      const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '--store', 'sql', '--sql_driver', c.driver, '--sql_source', c.source(dbPort)]);
      procs.push(proc);
      let accepted = false;
      // Watch the client port for as long as the server runs.
      const watch = (async () => {
        while (proc.exit === undefined) if (await canConnect(port, '127.0.0.1', 200)) accepted = true;
      })();
      const exit = await proc.waitExit(20000);
      await watch;
      assert.equal(exit.code, 1, proc.output);
      assert.equal(accepted, false, `the client port accepted a connection\n${proc.output}`);
      assert.doesNotMatch(proc.output, /Listening for client connections/);
      const fatal = proc.stderrLines.filter((l) => l.includes('[FTL]'));
      assert.equal(fatal.length, 1, proc.output);
      const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.match(
        fatal[0],
        new RegExp(
          `\\[FTL\\] STREAM: SQL store: cannot connect to the ${esc(c.name)} database ${esc(c.shown(dbPort))} \\(--sql_source\\): ` +
            `connect ECONNREFUSED 127\\.0\\.0\\.1:${dbPort}; check that the database server is running and accepts connections`,
        ),
      );
      assert.doesNotMatch(proc.output, /s3cret-pw/);
    });
  }
});

describe('with -ns: connect requests that arrive while the store recovers', () => {
  let nats: RealNatsServer | undefined;
  after(async () => {
    await nats?.stop();
  });

  /**
   * Starts a server on a PostgreSQL store whose stan_server table the test keeps locked:
   * its recovery waits. Resolves once it recovers (its early subscriptions are in place,
   * see StreamingServer.start), with a raw NATS connection and a pending connect request
   * that must not have been refused with no responders.
   */
  async function startBlocked(): Promise<{ proc: Proc; reply: Promise<Uint8Array>; unlock: () => Promise<void>; failRecovery: () => Promise<void>; done: () => Promise<void> }> {
    nats ??= await RealNatsServer.start();
    const st = await ftStore('postgres');
    const trx = await st.knex.transaction();
    await trx.raw('LOCK TABLE stan_server IN ACCESS EXCLUSIVE MODE');
    const proc = spawnServer(['-cid', CID, '-ns', nats.url, ...st.args]);
    procs.push(proc);
    await proc.waitForLine(/STREAM: Recovering the state\.\.\./, { timeoutMs: 20000 });
    const nc = await rawNats(nats.url);
    let settled = false;
    const req = ConnectRequestCodec.encode({ clientID: 'held', heartbeatInbox: createInbox(), protocol: 1 });
    const reply = nc.request(discoverSubject(CID), req, { timeout: 60000 }).then(
      (m) => m.data,
      (err: unknown) => {
        throw new Error(`no answer to the connect request: ${String(err)}\n${proc.output}`);
      },
    );
    void reply.then(
      () => (settled = true),
      () => (settled = true),
    );
    // nats-server answers "no responders" while handling the publish, before the PONG of
    // this flush: had nobody been subscribed, the request would be settled by now.
    await nc.flush();
    await new Promise((r) => setImmediate(r));
    const done = async (): Promise<void> => {
      await trx.rollback().catch(() => undefined);
      await nc.close();
      await proc.kill();
      await st.cleanup();
    };
    if (settled) {
      await done();
      assert.fail(`the connect request was answered or refused before the server served\n${proc.output}`);
    }
    return {
      proc,
      reply,
      unlock: async () => {
        await trx.commit();
      },
      // Ends the server's session that waits for our lock (its recovery query): the query
      // fails. pg_locks, not pg_stat_activity, which is a snapshot within a transaction.
      failRecovery: async () => {
        const waiting = "SELECT pid FROM pg_locks WHERE relation = 'stan_server'::regclass AND NOT granted";
        while ((await trx.raw<{ rows: unknown[] }>(waiting)).rows.length === 0) await sleep(10);
        await trx.raw(`SELECT pg_terminate_backend(pid) FROM (${waiting}) w`);
      },
      done,
    };
  }

  /** Runs `body` against a server whose recovery waits (see startBlocked), then cleans up. */
  async function withBlockedServer(body: (b: Awaited<ReturnType<typeof startBlocked>>) => Promise<void>): Promise<void> {
    const b = await startBlocked();
    try {
      await body(b);
    } finally {
      await b.done();
    }
  }

  test('are held and answered once the server serves', () =>
    withBlockedServer(async (b) => {
      await b.unlock();
      const resp = ConnectResponseCodec.decode(await b.reply);
      assert.equal(resp.error, '', b.proc.output);
      assert.equal(resp.pubPrefix.startsWith('_STAN.pub.'), true);
      await b.proc.waitForLine(READY_RE);
    }));

  test('are answered with an error when the start-up fails', () =>
    withBlockedServer(async (b) => {
      await b.failRecovery();
      const resp = ConnectResponseCodec.decode(await b.reply);
      assert.match(resp.error, /^stan: the streaming server failed to start: /, b.proc.output);
      assert.equal((await b.proc.waitExit(20000)).code, 1, b.proc.output);
    }));
});
