/**
 * A publish whose commit fails for real gets an error PubAck, but the store keeps its row and
 * writes it on its next attempt (at-least-once, see durability-db-restart). Once written, the
 * message must reach the subscribers without any further publish on the channel: before the
 * fix it stayed stored (monitoring counted it) and undelivered until a restart, because only
 * a later publish's commit made a channel's messages deliverable.
 *
 * The failure is real, on a real store and a real STAN client:
 *   FILE (SQLite): another connection holds the write lock (BEGIN IMMEDIATE) longer than the
 *     store's busy_timeout, so the write fails with SQLITE_BUSY; then it lets go.
 *   PostgreSQL: another session holds stan_messages locked; the store's writer, waiting on the
 *     lock, is ended with pg_terminate_backend; then the lock is released.
 *   MariaDB: the same with LOCK TABLES … WRITE and KILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Client as PgClient } from 'pg';
import * as mysql from 'mysql2/promise';
import { startTestServer, storeOptionsFor } from '../helpers/server';
import { close, Collector, connect, opts, publish, subscribe } from '../helpers/stan';
import { SQLITE_FILE } from '../../src/store/sql/open';

interface Blocker {
  /** Makes the blocked write fail (SQLite: by itself, after busy_timeout). */
  failWriter(): Promise<void>;
  release(): Promise<void>;
}

/** A worker thread holds the write lock: it lets go even while the server's thread waits on it. */
async function lockSqlite(file: string): Promise<Blocker> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const Database = require(workerData.module);
     const db = new Database(workerData.file);
     db.exec('BEGIN IMMEDIATE');
     parentPort.postMessage('locked');
     parentPort.once('message', () => {
       db.exec('ROLLBACK');
       db.close();
       parentPort.postMessage('released');
       parentPort.close();
     });`,
    { eval: true, workerData: { module: require.resolve('better-sqlite3'), file } },
  );
  const next = (): Promise<unknown> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  await next();
  return {
    failWriter: () => Promise.resolve(),
    release: async () => {
      const released = next();
      worker.postMessage('release');
      await released;
      await worker.terminate();
    },
  };
}

async function lockPostgres(url: string): Promise<Blocker> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE stan_messages IN ACCESS EXCLUSIVE MODE');
  return {
    failWriter: async () => {
      // pg_locks (not pg_stat_activity, a snapshot within a transaction): the writer waiting.
      let pid: number | undefined;
      const deadline = Date.now() + 15000;
      while (pid === undefined && Date.now() < deadline) {
        const r = await c.query<{ pid: number }>("SELECT pid FROM pg_locks WHERE relation = 'stan_messages'::regclass AND NOT granted");
        pid = r.rows[0]?.pid;
        if (pid === undefined) await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(pid !== undefined, 'the store writer waits on the lock');
      await c.query('SELECT pg_terminate_backend($1)', [pid]);
    },
    release: async () => {
      await c.query('ROLLBACK');
      await c.end();
    },
  };
}

async function lockMariaDB(url: string): Promise<Blocker> {
  const c = await mysql.createConnection(url);
  await c.query('LOCK TABLES stan_messages WRITE');
  return {
    failWriter: async () => {
      let id: number | undefined;
      const deadline = Date.now() + 15000;
      while (id === undefined && Date.now() < deadline) {
        const [rows] = await c.query<mysql.RowDataPacket[]>(
          "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND STATE LIKE 'Waiting for table%'",
        );
        id = rows[0]?.id as number | undefined;
        if (id === undefined) await new Promise((res) => setTimeout(res, 20));
      }
      assert.ok(id !== undefined, 'the store writer waits on the lock');
      await c.query(`KILL ${Number(id)}`);
    },
    release: async () => {
      await c.query('UNLOCK TABLES');
      await c.end();
    },
  };
}

/** What the publisher of the failed commit is told, per store: the failure made here, nothing else. */
const FAILURE = { file: /database is locked/, postgres: /terminating connection/, mysql: /Connection lost/ };

for (const kind of ['file', 'postgres', 'mysql'] as const) {
  test(`${kind}: a message whose commit failed is delivered once the store wrote it, with no further publish`, async () => {
    const streaming = { ...(await storeOptionsFor(kind)), clusterID: 'failed-commit' };
    const s = await startTestServer({ streaming });
    let blocker: Blocker | undefined;
    try {
      const sc = await connect(s.natsURL, 'failed-commit', 'pub', { ackTimeout: 60_000 });
      // A subscriber before the publish (the channel exists, its creation is committed).
      const before = new Collector(await subscribe(sc, 'orders', opts(sc, (o) => o.setDeliverAllAvailable())));
      const source = (streaming.sql as { source: string } | undefined)?.source ?? '';
      blocker =
        kind === 'file'
          ? await lockSqlite(path.join(streaming.filestoreDir as string, SQLITE_FILE))
          : kind === 'postgres'
            ? await lockPostgres(source)
            : await lockMariaDB(source);
      const answer = publish(sc, 'orders', 'only').then(
        () => 'ok',
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      await blocker.failWriter();
      const pubAck = await answer;
      // The failure made here, nothing else: the publisher is told the commit failed.
      assert.match(pubAck, FAILURE[kind]);
      await blocker.release();
      blocker = undefined;
      // A new subscriber from the start, after the failure: nobody publishes any more.
      const after = new Collector(await subscribe(sc, 'orders', opts(sc, (o) => o.setDeliverAllAvailable())));
      assert.deepEqual((await before.waitFor(1, 15000)).map((m) => String(m.getData())), ['only']);
      assert.deepEqual((await after.waitFor(1, 15000)).map((m) => String(m.getData())), ['only']);
      assert.deepEqual(after.seqs(), [1]);
      const msgs = s.server.store.lookupChannel('orders')?.msgs;
      assert.deepEqual([msgs?.firstSeq, msgs?.lastSeq, msgs?.msgCount], [1, 1, 1]);
      await close(sc);
    } finally {
      await blocker?.release().catch(() => undefined);
      await s.close();
    }
  });
}
