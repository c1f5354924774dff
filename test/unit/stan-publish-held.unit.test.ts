/**
 * A publish that arrives while the core does not serve yet (recovery, start-up) is held by the
 * early-request queue (src/stan/core.ts publishHeld, early-requests.ts) and handled once the
 * core serves: stored, and acknowledged with its own guid, after the connect held before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultStreamingOptions } from '../../src/config/options';
import { silentLogger } from '../../src/logging/logger';
import { ConnectRequestCodec, ConnectResponseCodec, PubAckCodec, PubMsgCodec } from '../../src/protocol/codec';
import { MemoryStore } from '../../src/store/memory';
import { StanCore } from '../../src/stan/core';
import { FakeClock, settle } from '../helpers/fake-clock';
import { MemoryTransport } from '../helpers/memory-transport';

test('a publish received before the core serves is stored and acknowledged once it serves', async () => {
  const opts = defaultStreamingOptions();
  const clock = new FakeClock();
  const nc = new MemoryTransport(clock);
  const store = new MemoryStore(opts.storeLimits, { now: () => clock.now() });
  const core = new StanCore(opts, store, nc, silentLogger, clock);
  core.recover(null);
  core.listenEarly();
  const hbInbox = nc.newInbox();
  nc.subscribe(hbInbox, (_s, reply) => {
    if (reply) nc.publish(reply, new Uint8Array(0));
  });
  const connID = Buffer.from('conn-early');
  const connected = nc.request(core.info.Discovery, ConnectRequestCodec.encode({ clientID: 'early', heartbeatInbox: hbInbox, protocol: 1, connID }), 60_000);
  const pubMsg = PubMsgCodec.encode({ clientID: 'early', guid: 'early-1', subject: 'foo', data: Buffer.from('held'), connID });
  const acked = nc.request(`${core.info.Publish}.foo`, pubMsg, 60_000);
  await settle();
  assert.equal(store.lookupChannel('foo'), undefined, 'nothing is stored before the core serves');

  core.startServing();
  assert.equal(ConnectResponseCodec.decode(await connected).error, '');
  const ack = PubAckCodec.decode(await acked);
  assert.deepEqual([ack.guid, ack.error], ['early-1', '']);
  assert.equal(store.lookupChannel('foo')?.msgs.lastSeq, 1);
  await core.shutdown();
  await nc.close();
});
