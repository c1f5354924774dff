/**
 * The SQL store's connection started at the beginning of a start-up (src/store/early-connection.ts),
 * on real PostgreSQL and MariaDB: a start-up that fails before the store step (the client port
 * is taken) closes that connection again, and an unreachable database is still reported by
 * the store step with the store, the source and what to check.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { defaultServerOptions, type ServerOptions } from '../../src/config/options';
import { StreamingServer } from '../../src/stan/streaming-server';
import { testDatabase, type DbKind } from '../helpers/db';
import { freePort } from '../helpers/proc';

/**
 * A TCP proxy in front of the database that counts the connections through it: which
 * connections a start-up opened and whether they are still open.
 */
async function countingProxy(target: number): Promise<{ port: number; seen: () => number; open: () => number; close: () => void }> {
  let seen = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    seen++;
    sockets.add(client);
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      sockets.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen: () => seen,
    open: () => sockets.size,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function sqlOptions(kind: DbKind, source: string, port: number): ServerOptions {
  const o = defaultServerOptions();
  o.nats.host = '127.0.0.1';
  o.nats.port = port;
  o.streaming.clusterID = 'early';
  o.streaming.storeType = 'SQL';
  o.streaming.sql.driver = kind === 'postgres' ? 'postgres' : 'mysql';
  o.streaming.sql.source = source;
  return o;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, boundMs = 5000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describe(`early store connection: ${kind}`, () => {
    test('a start-up that fails at the client-port check leaves no connection to the database', async () => {
      const db = await testDatabase(kind, 'early');
      const dbPort = Number(new URL(db.url).port);
      const proxy = await countingProxy(dbPort);
      const taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as net.AddressInfo).port;
      try {
        const source = db.url.replace(`:${dbPort}/`, `:${proxy.port}/`);
        await assert.rejects(StreamingServer.start(sqlOptions(kind, source, port)), /address already in use/);
        // The connection was started before the check; it must be closed again, not left to a
        // pool's idle timeout (10 s on PostgreSQL, 60 s on MariaDB: longer than this wait) or kept.
        await until('the early connection was opened and closed again', async () => proxy.seen() >= 1 && proxy.open() === 0);
      } finally {
        taken.close();
        proxy.close();
      }
    });

    test('an unreachable database is reported by the store step, naming the store and the source', async () => {
      const closed = await freePort();
      const source = kind === 'postgres' ? `postgres://stan:secret@127.0.0.1:${closed}/stan?sslmode=disable` : `stan:secret@tcp(127.0.0.1:${closed})/stan`;
      const err = (await StreamingServer.start(sqlOptions(kind, source, await freePort())).catch((e: Error) => e)) as Error;
      assert.ok(err instanceof Error, 'the start-up fails');
      assert.match(err.message, new RegExp(`SQL store: cannot connect to the ${kind === 'postgres' ? 'PostgreSQL' : 'MySQL'}`));
      assert.match(err.message, /ECONNREFUSED/);
      assert.doesNotMatch(err.message, /secret/);
    });
  });
}
