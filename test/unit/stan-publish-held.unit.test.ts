/**
 * A publish that arrives while the core does not serve yet (recovery, start-up) is held by the
 * early-request queue (src/stan/core.ts publishHeld, early-requests.ts) and handled once the
 * core serves: stored, and acknowledged with its own guid, after the connect held before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubAckCodec, PubMsgCodec } from '../../src/protocol/codec';
import { settle } from '../helpers/fake-clock';
import { listeningCore, TestClient } from '../helpers/stan-core';

test('a publish received before the core serves is stored and acknowledged once it serves', async () => {
  const h = listeningCore();
  const { core, nc, store } = h;
  // TestClient's connection ID is `conn-<id>`: the held publish names the same connection.
  const connected = new TestClient(h, 'early').connect();
  const connID = Buffer.from('conn-early');
  const pubMsg = PubMsgCodec.encode({ clientID: 'early', guid: 'early-1', subject: 'foo', data: Buffer.from('held'), connID });
  const acked = nc.request(`${core.info.Publish}.foo`, pubMsg, 60_000);
  await settle();
  assert.equal(store.lookupChannel('foo'), undefined, 'nothing is stored before the core serves');

  core.startServing();
  assert.equal((await connected).error, '');
  const ack = PubAckCodec.decode(await acked);
  assert.deepEqual([ack.guid, ack.error], ['early-1', '']);
  assert.equal(store.lookupChannel('foo')?.msgs.lastSeq, 1);
  await h.close();
});
