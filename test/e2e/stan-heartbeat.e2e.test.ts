/**
 * Server → client heartbeats (spec §1.4): dead clients are closed like a CloseRequest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import {
  close,
  Collector,
  connect,
  flushNats,
  opts,
  publish,
  sleep,
  stopHeartbeats,
  subscribe,
  until,
  waitEvent,
  type Stan,
} from '../helpers/stan';
import type { ServerHandle } from '../../src/index';
import { type NatsConnection, rawNats, rawStanConnect } from '../helpers/raw';

const HB_INTERVAL = 100;
const HB_TIMEOUT = 100;
const HB_FAIL_COUNT = 2;
/** (fail_count + 1) × (interval + timeout) */
const DETECT_MS = (HB_FAIL_COUNT + 1) * (HB_INTERVAL + HB_TIMEOUT);

describe('STAN server heartbeats', () => {
  let s: ServerHandle;
  let nc: NatsConnection;
  let pub: Stan;

  before(async () => {
    s = await startTestServer({
      streaming: { clientHBInterval: HB_INTERVAL, clientHBTimeout: HB_TIMEOUT, clientHBFailCount: HB_FAIL_COUNT },
    });
    nc = await rawNats(s.natsURL);
    pub = await connect(s.natsURL, s.clusterID, 'hb-pub');
  });
  after(async () => {
    await close(pub);
    await nc.close();
    await s.close();
  });

  test('a client that answers heartbeats stays registered', async () => {
    await rawStanConnect(nc, s.clusterID, 'hb-alive', { hb: 'answer' });
    await sleep(DETECT_MS * 2);
    assert.equal(s.server.core.clients.has('hb-alive'), true);
    // And a real client too (its library answers).
    assert.equal(s.server.core.clients.has('hb-pub'), true);
  });

  test('a client that never answers is closed after (fail_count+1) heartbeat periods', async () => {
    const t0 = Date.now();
    await rawStanConnect(nc, s.clusterID, 'hb-silent', { hb: 'ignore' });
    await until(() => !s.server.core.clients.has('hb-silent'), DETECT_MS * 4, 'the client to be closed');
    const took = Date.now() - t0;
    assert.ok(took >= DETECT_MS - 100, `closed after ${took} ms, expected about ${DETECT_MS}`);
    // Its client ID is free at once.
    const t1 = Date.now();
    await rawStanConnect(nc, s.clusterID, 'hb-silent', { hb: 'answer' });
    assert.ok(Date.now() - t1 < 300);
  });

  test('a client that stops answering: closed, plain subs removed, durables offline and resumable', async () => {
    const ch = 'hb.ch';
    const sc = await connect(s.natsURL, s.clusterID, 'hb-stop', { stanPingInterval: 1000, stanMaxPingOut: 3 });
    const plain = new Collector(await subscribe(sc, ch, opts(sc)));
    const dur = new Collector(await subscribe(sc, ch, opts(sc, (o) => o.setDurableName('d'))));
    await publish(pub, ch, 'm1');
    await plain.waitFor(1);
    await dur.waitFor(1);
    await flushNats(sc);
    const lost = waitEvent<unknown>(sc, 'connection_lost', 5000);
    stopHeartbeats(sc);
    await until(() => !s.server.core.clients.has('hb-stop'), DETECT_MS * 4, 'the client to be closed');
    const chan = s.server.core.channels.get(ch);
    assert.equal(chan?.plainSubs.size, 0, 'no online subscription left');
    assert.equal(chan?.durables.size, 1, 'the durable is kept');
    assert.equal([...(chan?.durables.values() ?? [])][0].isOffline, true);
    await publish(pub, ch, 'm2');
    // The client learns it through its next PING.
    const err = await lost;
    assert.equal(err instanceof Error ? err.message : String(err), 'client has been replaced or is no longer registered');
    assert.equal(plain.msgs.length, 1);
    assert.equal(dur.msgs.length, 1);

    const sc2 = await connect(s.natsURL, s.clusterID, 'hb-stop');
    try {
      const resumed = new Collector(await subscribe(sc2, ch, opts(sc2, (o) => o.setDurableName('d'))));
      await resumed.waitFor(1);
      assert.deepEqual(
        resumed.msgs.map((m) => [m.getSequence(), m.isRedelivered()]),
        [[2, false]],
      );
    } finally {
      await close(sc2);
    }
  });
});
