/**
 * Encryption at rest off the main thread (src/store/seal-pool.ts): batches sealed by the
 * worker thread open with PayloadCipher.open (record format and keys unchanged), order kept,
 * split across several workers; a worker killed mid-batch fails that batch only and is
 * restarted; in the store, such a batch fails like a failed commit, is retried, and no row is
 * ever written in plaintext (raw table scan); with a real server and client, a worker killed
 * during a publish burst costs errors or retries, never a plaintext row or a lost ack'ed message.
 */
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { PayloadCipher, RECORD_OVERHEAD, rowContext, type CipherName } from '../../src/store/crypto';
import { SealPool, type SealWorkerData } from '../../src/store/seal-pool';
import { tsxSealWorker } from '../helpers/seal-worker';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SEAL_INLINE_MAX_ROWS, SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { MsgProtoCodec } from '../../src/protocol/codec';
import { startServer } from '../../src/index';
import { close, Collector, connect, subscribe } from '../helpers/stan';
import { serverInfo } from '../helpers/store';

/**
 * A worker spawner (SealPoolOptions.spawn) whose workers are terminated as a batch is handed
 * to them, the batch undelivered, while `kill()` says so (it is asked once per batch).
 */
function killingSpawn(kill: () => boolean): (data: SealWorkerData) => Worker {
  return (data) => {
    const w = tsxSealWorker(data);
    const post = w.postMessage.bind(w);
    w.postMessage = (value: unknown, transfer?: Parameters<Worker['postMessage']>[1]) => {
      // Killed with the batch undelivered: terminating it after the post raced with the worker,
      // which could seal and answer first (a CI run saw the commit succeed).
      if (kill()) {
        void w.terminate();
        return;
      }
      post(value, transfer);
    };
    return w;
  };
}

/** kill() answering true `n` times, counting in `count.n`. */
function times(n: number, count = { n: 0 }): () => boolean {
  return () => (count.n < n ? (count.n++, true) : false);
}

function rows(n: number, channelID = 7): Array<{ channelID: number; seq: number; plain: Buffer }> {
  const sizes = [0, 1, 150, 1024, 65_536];
  return Array.from({ length: n }, (_, i) => ({ channelID, seq: i + 1, plain: randomBytes(sizes[i % sizes.length]) }));
}

describe('SealPool', () => {
  for (const name of ['AES', 'CHACHA'] as CipherName[]) {
    test(`worker-sealed batches open with PayloadCipher.open (${name})`, async () => {
      const cipher = new PayloadCipher('seal-pool-key', name);
      const pool = new SealPool(cipher, { spawn: tsxSealWorker });
      try {
        await pool.start();
        const input = rows(300);
        const sealed = await pool.seal(input);
        assert.equal(sealed.length, input.length);
        for (let i = 0; i < input.length; i++) {
          assert.equal(sealed[i].length, input[i].plain.length + RECORD_OVERHEAD);
          assert.deepEqual(Buffer.from(cipher.open(sealed[i], rowContext(7, i + 1))), input[i].plain, `row ${i}`);
        }
        // The row's position is authenticated: another context fails.
        assert.throws(() => cipher.open(sealed[2], rowContext(7, 4)), /authentication failed/);
        // A cipher with only the key (read side, e.g. after a restart) opens them too.
        const reader = new PayloadCipher('seal-pool-key', undefined);
        assert.deepEqual(Buffer.from(reader.open(sealed[3], rowContext(7, 4))), input[3].plain);
      } finally {
        await pool.close();
      }
    });
  }

  test('a batch split across several workers keeps its order', async () => {
    const cipher = new PayloadCipher('seal-pool-key', 'AES');
    const pool = new SealPool(cipher, { size: 3, spawn: tsxSealWorker });
    try {
      const input = rows(1000, 9);
      const sealed = await pool.seal(input);
      for (let i = 0; i < input.length; i++) assert.deepEqual(Buffer.from(cipher.open(sealed[i], rowContext(9, i + 1))), input[i].plain);
    } finally {
      await pool.close();
    }
  });

  test('a worker killed mid-batch fails that batch; the next batch gets a new worker', async () => {
    const cipher = new PayloadCipher('seal-pool-key', 'AES');
    const pool = new SealPool(cipher, { spawn: killingSpawn(times(1)) });
    try {
      await pool.start();
      await assert.rejects(pool.seal(rows(50)), /encryption worker exited/);
      const sealed = await pool.seal(rows(50));
      assert.equal(sealed.length, 50);
      assert.ok(cipher.open(sealed[0], rowContext(7, 1)) !== undefined);
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.seal(rows(1)), /closed/);
  });
});

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stan-seal-'));
}

function rawRows(dir: string): Array<{ seq: number; data: Buffer }> {
  const db = new Database(path.join(dir, 'stan.db'), { readonly: true });
  try {
    return db.prepare('SELECT seq, data FROM stan_messages ORDER BY channel_id, seq').all() as Array<{ seq: number; data: Buffer }>;
  } finally {
    db.close();
  }
}

const info = serverInfo('c1');

describe('SqlStore sealing through the worker', () => {
  test('a worker killed while sealing a batch fails that commit; the retry writes only sealed rows', async () => {
    const dir = tmp();
    const cipher = new PayloadCipher('store-key', 'AES');
    const a = await openSqlite({ dir, sync: true });
    await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
    const kills = { n: 0 };
    const store = new SqlStore(a, {
      type: 'FILE',
      clusterID: 'c1',
      limits: defaultStoreLimits(),
      maxBatchRows: 0,
      bulkInsertLimit: 0,
      ioSleepMicros: 0,
      cipher,
      sealPool: { spawn: killingSpawn(times(1, kills)) },
    });
    await store.start();
    assert.equal(await store.recover(), null);
    store.init(info);
    const ch = store.createChannel('foo');
    const marker = `PLAIN-MARKER-${randomBytes(4).toString('hex')}`;
    const N = 10 * SEAL_INLINE_MAX_ROWS;
    for (let i = 1; i <= N; i++) ch.msgs.store({ seq: i, timestamp: 1_700_000_000_000_000_000 + i, subject: 'foo', reply: '', data: Buffer.from(`${marker}-${i}`) });
    await assert.rejects(store.commit(), /encryption worker exited/);
    assert.equal(kills.n, 1);
    // Recent messages are still served from memory, in plaintext.
    const cached = await ch.msgs.lookup(N);
    assert.ok(cached !== undefined && Buffer.from(cached.bytes).includes(Buffer.from(`${marker}-${N}`)));
    // The failed batch is kept and written by the next commit, sealed by a new worker.
    for (let i = N + 1; i <= 2 * N; i++) ch.msgs.store({ seq: i, timestamp: 1_700_000_000_000_000_000 + i, subject: 'foo', reply: '', data: Buffer.from(`${marker}-${i}`) });
    await store.commit();
    const raw = rawRows(dir);
    const channelID = 1; // the store's first channel
    assert.deepEqual(
      raw.map((r) => r.seq),
      Array.from({ length: 2 * N }, (_, i) => i + 1),
      'every row, once, in order',
    );
    for (const r of raw) {
      assert.equal(r.data[0], 0xec, `row ${r.seq} is an encrypted record`);
      assert.ok(!r.data.includes(Buffer.from(marker)), `row ${r.seq} holds plaintext`);
      const m = MsgProtoCodec.decode(cipher.open(r.data, rowContext(channelID, r.seq)));
      assert.equal(Buffer.from(m.data).toString(), `${marker}-${r.seq}`);
    }
    await store.close();
    // close() stopped the worker: nothing keeps the pool alive.
    assert.equal(await store.sealer.pool?.terminateWorkers(), 0);
  });
});

describe('server: sealing worker killed during a publish burst', () => {
  test('publishers get acks or errors, the server keeps working, no row is stored in plaintext', async () => {
    const dir = tmp();
    const clusterID = `seal-${process.pid}`;
    const s = await startServer({
      streaming: { storeType: 'FILE', filestoreDir: dir, clusterID, encrypt: true, encryptionKey: 'srv-key', encryptionCipher: 'AES' },
      nats: { port: 0 },
      spawnSealWorker: tsxSealWorker,
    });
    const marker = `BURST-MARKER-${randomBytes(4).toString('hex')}`;
    try {
      const pub = await connect(s.natsURL, clusterID, 'pub', {});
      const pool = (s.server.store as SqlStore).sealer.pool;
      assert.ok(pool !== undefined, 'the encrypting store seals through a worker pool');
      // Stops the worker up to three times while the burst is sealed (it restarts on demand).
      let kills = 0;
      let bursting = true;
      const killer = (async () => {
        while (bursting && kills < 3) {
          await new Promise((r) => setImmediate(r));
          if ((await pool.terminateWorkers()) > 0) kills++;
        }
      })();
      const N = 3000;
      const results = await Promise.all(
        Array.from(
          { length: N },
          (_, i) =>
            new Promise<boolean>((resolve) => {
              pub.publish('burst', `${marker}-${i}`, (err) => resolve(err === undefined || err === null));
            }),
        ),
      );
      bursting = false;
      await killer;
      assert.ok(kills > 0, 'the worker was killed at least once');
      // A batch whose worker died while its commit waited fails: its publishers get the store
      // error. Rows whose worker died before their commit started are simply sealed again.
      const failed = results.filter((ok) => !ok).length;
      assert.ok(failed < N, `${failed} of ${N} publishes failed`);
      // The server keeps working: later publishes are acknowledged.
      const later = await Promise.all(
        Array.from({ length: 200 }, (_, i) => new Promise<boolean>((resolve) => pub.publish('burst', `${marker}-late-${i}`, (err) => resolve(!err)))),
      );
      assert.ok(later.every((ok) => ok), 'publishes after the failures are acknowledged');
      // Every publish was stored (failed ones are retried: at-least-once), in order, readable.
      const sc = await connect(s.natsURL, clusterID, 'sub', {});
      const sub = await subscribe(sc, 'burst', sc.subscriptionOptions().setDeliverAllAvailable().setMaxInFlight(10_000));
      const col = new Collector(sub);
      await col.waitFor(N + 200, 30_000);
      const got = col.datas();
      for (let i = 0; i < N; i++) assert.equal(got[i], `${marker}-${i}`);
      await close(sc);
      await close(pub);
    } finally {
      await s.close();
    }
    const raw = rawRows(dir);
    assert.equal(raw.length, 3200);
    for (const r of raw) {
      assert.equal(r.data[0], 0xec, `row ${r.seq} is an encrypted record`);
      assert.ok(!r.data.includes(Buffer.from(marker)), `row ${r.seq} holds plaintext`);
    }
  });
});
