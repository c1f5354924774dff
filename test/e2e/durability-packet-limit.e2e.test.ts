/**
 * MySQL/MariaDB refuse statements above max_allowed_packet. A message whose row cannot fit
 * must be refused at publish with a clear error — not accepted into a batch that then fails
 * on every retry and stalls the store. A dedicated MariaDB with a small packet limit, our
 * server, a real STAN client.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMariaDB, type MariaInstance } from '../helpers/db';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, opts, publish, subscribe } from '../helpers/stan';
import { captureLogger } from '../helpers/nats-helpers';

let db: MariaInstance | undefined;
after(async () => {
  await db?.stop();
});

test('a message too large for max_allowed_packet gets an error PubAck; the store keeps serving; a start-up warning names the value to set', async () => {
  db = await startMariaDB();
  await db.adminQuery('SET GLOBAL max_allowed_packet = 1048576');
  const url = await db.createDatabase('packet');
  const log = captureLogger();
  const s = await startTestServer({
    streaming: {
      clusterID: 'packet',
      storeType: 'SQL',
      sql: { driver: 'mysql', source: url, noCaching: false, maxOpenConns: 2, bulkInsertLimit: 0, autoMigrate: true },
    },
    logger: log,
  });
  try {
    assert.ok(
      log.lines.some((l) => /database accepts messages of at most \d+ bytes .*max_payload of 1048576.*Set max_allowed_packet to at least \d+/.test(l)),
      log.lines.join('\n'),
    );
    const sc = await connect(s.natsURL, 'packet', 'big');
    const col = new Collector(await subscribe(sc, 'blobs', opts(sc, (o) => o.setDeliverAllAvailable())));
    await publish(sc, 'blobs', Buffer.alloc(200_000, 1));
    await assert.rejects(publish(sc, 'blobs', Buffer.alloc(600_000, 2)), /message too large for the database: \d+ bytes stored, the database accepts at most \d+ .*max_allowed_packet/);
    // Not stalled: the next publishes are stored and delivered.
    await publish(sc, 'blobs', Buffer.alloc(100, 3));
    const got = await col.waitFor(2, 15000);
    assert.deepEqual(got.map((m) => m.getData().length), [200_000, 100]);
    assert.deepEqual(got.map((m) => m.getSequence()), [1, 2]);
    await close(sc);
  } finally {
    await s.close();
  }
});
