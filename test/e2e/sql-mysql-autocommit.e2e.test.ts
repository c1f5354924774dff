/**
 * MySQL/MariaDB sessions that start with autocommit off (a DSN variable here; a DBA's
 * `autocommit=0` server default or `init_connect` do the same): the server sends message and
 * event rows outside BEGIN/COMMIT and counts on each statement committing when answered, so it
 * sets autocommit on every connection it opens (src/store/sql/open.ts). Without that, acked
 * publishes sat in a transaction never committed, and a kill -9 lost them.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { dbKnex } from '../helpers/ft';
import { testDatabase } from '../helpers/db';
import { freePort, spawnServer, type Proc } from '../helpers/proc';
import { close, connect, publish, type Stan } from '../helpers/stan';

const procs: Proc[] = [];
after(async () => {
  for (const p of procs) await p.kill();
});

test('MariaDB with autocommit off in the DSN: every acked publish (async and sync) is committed, kill -9 loses none', async () => {
  const tdb = await testDatabase('mariadb', 'autocommit');
  const port = await freePort();
  const server = spawnServer(['-p', String(port), '-cid', 'ac', '--store', 'sql', '--sql_driver', 'mysql', '--sql_source', `${tdb.url}?autocommit=0`, '--sql_auto_migrate']);
  procs.push(server);
  await server.waitForLine(/Streaming Server is ready/, { timeoutMs: 20000 });
  const sc: Stan = await connect(`nats://127.0.0.1:${port}`, 'ac', 'ac-client');
  const knex = dbKnex(tdb.instance, tdb.name);
  try {
    // A burst (group commits of many rows), then one at a time (the lone commit path).
    await Promise.all(Array.from({ length: 500 }, (_, i) => publish(sc, 'ac.burst', `b${i}`)));
    for (let i = 0; i < 20; i++) await publish(sc, 'ac.one', `o${i}`);
    await server.kill();
    const rows = (await knex('stan_messages').count({ n: '*' }))[0] as { n: number | string };
    assert.equal(Number(rows.n), 520, 'every acked message is in the table after the server is gone');
  } finally {
    await close(sc).catch(() => undefined);
    await knex.destroy();
  }
});
