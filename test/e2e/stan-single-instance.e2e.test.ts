/**
 * Start-up single-instance check (spec §1.5): a second server with the same cluster ID on
 * the same NATS refuses to start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import { startServer, type ServerHandle } from '../../src/index';
import { close, Collector, connect, opts, publish, subscribe, until } from '../helpers/stan';

describe('STAN single-instance check', () => {
  let s: ServerHandle;

  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    await s.close();
  });

  test('a second server with the same cluster ID on the same NATS fails to start', async () => {
    await assert.rejects(
      startServer({ streaming: { clusterID: s.clusterID, natsServerURL: s.natsURL } }),
      { message: `discovered another streaming server with cluster ID "${s.clusterID}"` },
    );
    // The probe's registration on the first server was closed again.
    await until(() => !s.server.core.clients.has(s.clusterID), 2000, 'the probe client to be closed');
    // The first server keeps serving.
    const sc = await connect(s.natsURL, s.clusterID, 'after-probe');
    const col = new Collector(await subscribe(sc, 'si.ch', opts(sc)));
    await publish(sc, 'si.ch', 'ok');
    await col.waitFor(1);
    await close(sc);
  });

  test('another cluster ID on the same NATS starts and serves independently', async () => {
    const other = await startServer({ streaming: { clusterID: `${s.clusterID}-other`, natsServerURL: s.natsURL } });
    try {
      assert.equal(other.natsURL, s.natsURL);
      const sc = await connect(s.natsURL, other.clusterID, 'on-other');
      const col = new Collector(await subscribe(sc, 'si.other', opts(sc)));
      await publish(sc, 'si.other', 'hello');
      await col.waitFor(1);
      assert.deepEqual(col.seqs(), [1]);
      // The first server did not see that channel.
      assert.equal(s.server.core.channels.has('si.other'), false);
      await close(sc);
    } finally {
      await other.close();
    }
  });
});
