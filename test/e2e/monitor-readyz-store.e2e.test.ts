/**
 * /readyz follows the database of an SQL store: 503 while PostgreSQL is down (an idle server
 * notices through its probe, a publishing one through its failing commits), 200 once it is
 * back. A dedicated PostgreSQL that the test stops and restarts, our server in-process.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type PgInstance } from '../helpers/db';
import { startServer, type ServerHandle } from '../../src/index';
import { freePort } from '../helpers/proc';
import { httpGet, readyz, readyzUntil as until } from '../helpers/http';
import { close, connect, publish } from '../helpers/stan';

let db: PgInstance | undefined;
let s: ServerHandle | undefined;
after(async () => {
  await s?.close().catch(() => undefined);
  await db?.stop().catch(() => undefined);
});

test('/readyz: 503 naming the store while PostgreSQL is down, 200 again once it is back', async () => {
  db = await startPostgres();
  const url = await db.createDatabase('readyz');
  const http = await freePort();
  s = await startServer({
    streaming: {
      clusterID: 'readyz',
      storeType: 'SQL',
      sql: { driver: 'postgres', source: url, noCaching: false, maxOpenConns: 2, bulkInsertLimit: 0, autoMigrate: true },
    },
    nats: { port: 0, httpPort: http },
  });
  assert.deepEqual(await readyz(http), { status: 200, error: undefined });
  const sc = await connect(s.natsURL, 'readyz', 'pub');
  await publish(sc, 'orders', 'before');

  await db.stop();
  // Idle: the probe finds the database gone.
  const down = await until(http, 503);
  assert.match(down.error ?? '', /^store (unreachable|commits failing): /);
  // /healthz only says the process is alive.
  assert.equal((await httpGet(http, '/healthz')).status, 200);

  await db.restart();
  await until(http, 200, 30000);
  await publish(sc, 'orders', 'after');
  await close(sc);
});
