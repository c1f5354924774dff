/**
 * Issue 3 item 6 and 5: the server runs as a database role that may only
 * SELECT/INSERT/UPDATE/DELETE (the schema migrated by its owner with
 * `nats-streaming-server migrate`), and refuses an unmigrated database with one line naming
 * the command; 1 MB messages are stored and read back byte-identical after a restart on
 * every store.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, type EmbeddedServerConfig } from '../../src/index';
import { sharedDb, uniqueName, type DbKind } from '../helpers/db';
import { runServer, spawnServer, type Proc } from '../helpers/proc';
import { storeOptionsFor, type TestStore } from '../helpers/server';
import { close, connect, publish, publishN } from '../helpers/stan';
import { assertOneClearLine, readAll } from '../helpers/durability';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

const DB_KINDS: Array<{ kind: DbKind; driver: 'postgres' | 'mysql' }> = [
  { kind: 'postgres', driver: 'postgres' },
  { kind: 'mariadb', driver: 'mysql' },
];

for (const { kind, driver } of DB_KINDS) {
  describe(`restricted database role (${kind})`, () => {
    test('migrated by the owner, the server runs as a SELECT/INSERT/UPDATE/DELETE role: publish, subscribe, restart', async () => {
      const inst = await sharedDb(kind);
      const dbName = uniqueName('role');
      const ownerUrl = await inst.createDatabase(dbName);
      const mig = await runServer(['migrate', '--sql_driver', driver, '--sql_source', ownerUrl], 60000);
      assert.equal(mig.exit.code, 0, mig.proc.output);
      const roleUrl = await inst.createRestrictedRole(dbName, uniqueName('r'), 'pw-Restricted1');

      const cfg: EmbeddedServerConfig = {
        streaming: {
          clusterID: `role-${kind}`,
          storeType: 'SQL',
          sql: { driver, source: roleUrl, noCaching: false, maxOpenConns: 4, bulkInsertLimit: 0, autoMigrate: false },
        },
        nats: { port: 0 },
      };
      let s = await startServer(cfg);
      try {
        let sc = await connect(s.natsURL, cfg.streaming?.clusterID ?? '', 'role-client');
        await publishN(sc, 'role.ch', 20);
        assert.deepEqual((await readAll(s.natsURL, `role-${kind}`, 'role.ch', 20)).map((m) => String(m.getData())).slice(-2), ['m19', 'm20']);
        await close(sc);
        await s.close();
        // Restart (recovery reads, snapshot written at the close, compaction deletes).
        s = await startServer(cfg);
        sc = await connect(s.natsURL, `role-${kind}`, 'role-client');
        await publish(sc, 'role.ch', 'm21');
        const got = await readAll(s.natsURL, `role-${kind}`, 'role.ch', 21);
        assert.deepEqual(got.map((m) => String(m.getData())), Array.from({ length: 21 }, (_, i) => `m${i + 1}`));
        await close(sc);
      } finally {
        await s.close();
      }
      // The role really has no DDL right (so the test above proves something).
      const ddl = await runServer(['migrate', '--sql_driver', driver, '--sql_source', (await freshRoleDb(kind)).url], 60000);
      assert.notEqual(ddl.exit.code, 0, `a restricted role cannot migrate\n${ddl.proc.output}`);
    });

    test('an unmigrated database is refused with one line naming the migrate command', async () => {
      const { url } = await freshRoleDb(kind);
      const proc = spawnServer(['-a', '127.0.0.1', '-p', '0', '-store', 'sql', '--sql_driver', driver, '--sql_source', url, '-cid', 'fresh']);
      procs.push(proc);
      await proc.waitExit(30000);
      const line = assertOneClearLine(proc, /nats-streaming-server migrate --sql_driver/);
      assert.match(line, /not initialised/);
      assert.doesNotMatch(line, /pw-Restricted2/, 'the password is not shown');
    });
  });
}

/** A fresh (never migrated) database and a restricted role on it. */
async function freshRoleDb(kind: DbKind): Promise<{ url: string }> {
  const inst = await sharedDb(kind);
  const dbName = uniqueName('fresh');
  await inst.createDatabase(dbName);
  return { url: await inst.createRestrictedRole(dbName, uniqueName('r'), 'pw-Restricted2') };
}

const STORES: TestStore[] = ['file', 'postgres', 'mysql'];
for (const store of STORES) {
  test(`1 MB messages are stored and read back byte-identical after a restart (${store})`, async () => {
    const cfg: EmbeddedServerConfig = { streaming: { ...(await storeOptionsFor(store)), clusterID: `big-${store}` }, nats: { port: 0 } };
    let s = await startServer(cfg);
    const payloads: Buffer[] = [];
    try {
      const sc = await connect(s.natsURL, `big-${store}`, 'big-pub', { ackTimeout: 60_000 });
      for (let i = 0; i < 20; i++) {
        const b = randomBytes(1_000_000);
        b.writeUInt32BE(i, 0);
        payloads.push(b);
      }
      // All at once: one group commit has to split them by statement size.
      await Promise.all(
        payloads.map((p) => new Promise<void>((resolve, reject) => sc.publish('big.ch', p, (err) => (err ? reject(err) : resolve())))),
      );
      await close(sc);
      await s.close();
      s = await startServer(cfg);
      const got = await readAll(s.natsURL, `big-${store}`, 'big.ch', 20, 30000);
      assert.equal(got.length, 20);
      for (let i = 0; i < 20; i++) {
        const d = Buffer.from(got[i].getRawData());
        assert.equal(got[i].getSequence(), i + 1);
        assert.equal(d.length, 1_000_000, `message ${i + 1} size`);
        assert.ok(d.equals(payloads[i]), `message ${i + 1} byte-identical`);
      }
    } finally {
      await s.close();
    }
  });
}
