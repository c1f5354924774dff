/**
 * Issue 9: writes the database refuses for good must not stall the store.
 *
 *   - A CHECK constraint refuses messages whose payload contains "poison" (a realistic
 *     constraint violation): publishers of poison messages get an error PubAck naming the
 *     constraint, every other message of the same batches is PubAcked, stored and delivered,
 *     and later publishes keep flowing.
 *   - A DBA renames the messages table, or revokes INSERT on it: publishers get error
 *     PubAcks, /readyz answers 503 saying that the store failed and what to do, new publishes
 *     are refused at once; once the table (or the privilege) is back, the queued message is
 *     written, /readyz is 200 and publishing works.
 *
 * Real PostgreSQL and MariaDB (test/helpers/db.ts), our server in-process, the real
 * node-nats-streaming client.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerHandle } from '../../src/index';
import { testDatabase, uniqueName, type DbKind, type TestDatabase } from '../helpers/db';
import { freePort } from '../helpers/proc';
import { readyz, readyzUntil } from '../helpers/http';
import { close, connect, publish, publishError } from '../helpers/stan';
import { publishAsync, readAll } from '../helpers/durability';

const servers: ServerHandle[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
});

const KINDS: Array<{ kind: DbKind; driver: 'postgres' | 'mysql'; check: string; rename: (from: string, to: string) => string }> = [
  {
    kind: 'postgres',
    driver: 'postgres',
    check: `ALTER TABLE stan_messages ADD CONSTRAINT no_poison CHECK (position('poison'::bytea in data) = 0)`,
    rename: (from, to) => `ALTER TABLE ${from} RENAME TO ${to}`,
  },
  {
    kind: 'mariadb',
    driver: 'mysql',
    check: `ALTER TABLE stan_messages ADD CONSTRAINT no_poison CHECK (LOCATE('poison', data) = 0)`,
    rename: (from, to) => `RENAME TABLE ${from} TO ${to}`,
  },
];

async function start(db: TestDatabase, driver: 'postgres' | 'mysql', clusterID: string, autoMigrate = true): Promise<{ s: ServerHandle; http: number }> {
  const http = await freePort();
  const s = await startServer({
    streaming: {
      clusterID,
      storeType: 'SQL',
      sql: { driver, source: db.url, noCaching: false, maxOpenConns: 2, bulkInsertLimit: 0, autoMigrate },
    },
    nats: { port: 0, httpPort: http },
  });
  servers.push(s);
  return { s, http };
}

/**
 * A DBA breaks the database for the server's writes, then repairs it: the publish whose
 * commit fails gets an error PubAck naming the cause and stays queued, /readyz says why,
 * new publishes are refused at once; after the repair the queued message is written and
 * publishing works again.
 */
async function breakAndRepair(
  srv: { s: ServerHandle; http: number },
  cid: string,
  dba: { breakIt: () => Promise<void>; repair: () => Promise<void>; reason: RegExp },
): Promise<void> {
  const { s, http } = srv;
  const sc = await connect(s.natsURL, cid, 'pub');
  try {
    await publish(sc, 'orders', 'before');
    await dba.breakIt();
    // Recorded, then its commit fails: an error PubAck, the row stays queued.
    assert.match(await publishError(sc, 'orders', 'queued'), /^store failed: the database refuses the server's writes/);
    const down = await readyzUntil(http, 503);
    assert.match(down.error ?? '', /^store failed: the database refuses the server's writes \(.*\): a database administrator must/);
    assert.match(down.error ?? '', dba.reason);
    // Failed: new messages are refused at once, not queued.
    assert.match(await publishError(sc, 'orders', 'refused'), /^store failed: .*retried every 2 s/);
    await dba.repair();
    await readyzUntil(http, 200);
    await publish(sc, 'orders', 'after');
    const got = await readAll(s.natsURL, cid, 'orders', 3);
    assert.deepEqual(got.map((m) => String(m.getData())), ['before', 'queued', 'after']);
  } finally {
    await close(sc);
  }
}

for (const { kind, driver, check, rename } of KINDS) {
  describe(`database refusals (${kind})`, () => {
    test('a CHECK constraint refuses poison messages: their publishers get an error, the rest of each batch is stored', async () => {
      const db = await testDatabase(kind, 'poison');
      const cid = `poison-${kind}`;
      const { s, http } = await start(db, driver, cid);
      const sc = await connect(s.natsURL, cid, 'pub');
      const payload = (i: number): string => (i % 7 === 3 ? `poison-${i}` : `good-${i}`);
      const all = Array.from({ length: 200 }, (_, i) => payload(i + 1));
      const good = all.filter((p) => !p.startsWith('poison'));
      try {
        await db.instance.adminQuery(check, db.name);
        // Many PubAcks outstanding: poison and good messages share group commits.
        const res = await publishAsync(sc, 'orders', 200, { window: 100, payload });
        assert.deepEqual([...res.acked].sort(), [...good].sort());
        assert.deepEqual([...res.failed.keys()].sort(), all.filter((p) => p.startsWith('poison')).sort());
        for (const [, err] of res.failed) assert.match(err, /refused by the database.*no_poison/);
        // Later publishes keep flowing.
        await publish(sc, 'orders', 'later');
        assert.match(await publishError(sc, 'orders', 'poison-alone'), /refused by the database/);
        await publish(sc, 'orders', 'last');
        const got = await readAll(s.natsURL, cid, 'orders', good.length + 2);
        assert.deepEqual(got.map((m) => String(m.getData())), [...good, 'later', 'last']);
        assert.deepEqual(await readyz(http), { status: 200, error: undefined });
      } finally {
        await close(sc);
      }
      // A restart recovers exactly the stored messages.
      await s.close();
      const again = await start(db, driver, cid);
      const got = await readAll(again.s.natsURL, cid, 'orders', good.length + 2);
      assert.deepEqual(got.map((m) => String(m.getData())), [...good, 'later', 'last']);
    });

    test('the messages table renamed by a DBA: error PubAcks, /readyz 503 with the reason, all resumes once it is back', async () => {
      const db = await testDatabase(kind, 'renamed');
      const cid = `renamed-${kind}`;
      await breakAndRepair(await start(db, driver, cid), cid, {
        breakIt: () => db.instance.adminQuery(rename('stan_messages', 'stan_messages_moved'), db.name),
        repair: () => db.instance.adminQuery(rename('stan_messages_moved', 'stan_messages'), db.name),
        reason: /stan_messages/,
      });
    });
  });
}

// MariaDB applies a revoked database-level privilege to new connections only (a pooled
// writer keeps it), so the revoke case runs on PostgreSQL, which checks every statement.
test('postgres: a DBA revokes INSERT on the messages table from the server\'s role, then grants it back', async () => {
  const db = await testDatabase('postgres', 'revoke');
  const cid = 'revoke-pg';
  // The owner creates the schema; the server then runs as a SELECT/INSERT/UPDATE/DELETE role.
  const owner = await start(db, 'postgres', cid);
  await owner.s.close();
  const role = uniqueName('r');
  const roleUrl = await db.instance.createRestrictedRole(db.name, role, 'pw-Revoke1');
  await breakAndRepair(await start({ ...db, url: roleUrl }, 'postgres', cid, false), cid, {
    breakIt: () => db.instance.adminQuery(`REVOKE INSERT ON stan_messages FROM ${role}`, db.name),
    repair: () => db.instance.adminQuery(`GRANT INSERT ON stan_messages TO ${role}`, db.name),
    reason: /permission denied for table stan_messages.*grant the server's user/,
  });
});
