/**
 * Connect (spec §3.1), ConnectResponse fields and client PINGs (§1.3).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, endSub, flushNats, killNats, opts, publish, subscribe, waitEvent } from '../helpers/stan';
import {
  ConnectRequestCodec,
  ConnectResponseCodec,
  PingCodec,
  PingResponseCodec,
} from '../../src/protocol/codec';
import type { ServerHandle } from '../../src/index';
import {
  createInbox,
  discoverSubject,
  GARBAGE,
  type NatsConnection,
  rawNats,
  rawStanConnect,
  repliesWithin,
  requestDecoded,
  requestRaw,
} from '../helpers/raw';

const INVALID_CLIENT_ID = 'stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed';

describe('STAN connect', () => {
  let s: ServerHandle;
  let nc: NatsConnection;
  let cid: string;
  let disc: string;

  before(async () => {
    s = await startTestServer();
    cid = s.clusterID;
    disc = discoverSubject(cid);
    nc = await rawNats(s.natsURL);
  });
  after(async () => {
    await nc.close();
    await s.close();
  });

  test('ConnectResponse carries the server subjects, protocol 1 and echoes ping settings', async () => {
    const hb = createInbox();
    const r = await requestDecoded(
      nc,
      disc,
      ConnectRequestCodec.encode({ clientID: 'resp-fields', heartbeatInbox: hb, protocol: 1, connID: new Uint8Array([1, 2, 3]), pingInterval: 7, pingMaxOut: 42 }),
      ConnectResponseCodec,
    );
    assert.equal(r.error, '');
    assert.equal(r.pubPrefix, `_STAN.pub.${cid}`);
    assert.equal(r.subRequests, `_STAN.sub.${cid}`);
    assert.equal(r.unsubRequests, `_STAN.unsub.${cid}`);
    assert.equal(r.closeRequests, `_STAN.close.${cid}`);
    assert.equal(r.subCloseRequests, `_STAN.subclose.${cid}`);
    assert.equal(r.pingRequests, `_STAN.discover.${cid}.pings`);
    assert.equal(r.pingInterval, 7);
    assert.equal(r.pingMaxOut, 42);
    assert.equal(r.protocol, 1);
    assert.equal(r.publicKey, '');
  });

  test('protocol 0 request: protocol=1 but no ping subject nor ping values', async () => {
    const r = await requestDecoded(
      nc,
      disc,
      ConnectRequestCodec.encode({ clientID: 'proto0', heartbeatInbox: createInbox(), protocol: 0, pingInterval: 7, pingMaxOut: 42 }),
      ConnectResponseCodec,
    );
    assert.equal(r.error, '');
    assert.equal(r.protocol, 1);
    assert.equal(r.pingRequests, '');
    assert.equal(r.pingInterval, 0);
    assert.equal(r.pingMaxOut, 0);
    assert.equal(r.pubPrefix, `_STAN.pub.${cid}`);
  });

  test('invalid client IDs are refused', async () => {
    for (const id of ['', 'a b', 'foo.bar', 'a*', 'é', 'x>']) {
      const r = await requestDecoded(nc, disc, ConnectRequestCodec.encode({ clientID: id, heartbeatInbox: createInbox() }), ConnectResponseCodec);
      assert.equal(r.error, INVALID_CLIENT_ID, `clientID ${JSON.stringify(id)}`);
      assert.equal(r.pubPrefix, '');
      assert.equal(r.protocol, 0);
    }
    for (const id of ['abc', 'A-b_9', '_', '-']) {
      const r = await requestDecoded(nc, disc, ConnectRequestCodec.encode({ clientID: id, heartbeatInbox: createInbox() }), ConnectResponseCodec);
      assert.equal(r.error, '', `clientID ${JSON.stringify(id)}`);
    }
  });

  test('missing heartbeat inbox and undecodable requests: invalid connection request', async () => {
    const r1 = await requestDecoded(nc, disc, ConnectRequestCodec.encode({ clientID: 'nohb' }), ConnectResponseCodec);
    assert.equal(r1.error, 'stan: invalid connection request');
    assert.equal(r1.pubPrefix, '');
    // An empty heartbeat inbox wins over an invalid client ID (checked first).
    const r2 = await requestDecoded(nc, disc, ConnectRequestCodec.encode({ clientID: 'bad id' }), ConnectResponseCodec);
    assert.equal(r2.error, 'stan: invalid connection request');
    const r3 = await requestDecoded(nc, disc, GARBAGE, ConnectResponseCodec);
    assert.equal(r3.error, 'stan: invalid connection request');
    // Empty payload decodes as an all-default request: no heartbeat inbox.
    const r4 = await requestDecoded(nc, disc, new Uint8Array(0), ConnectResponseCodec);
    assert.equal(r4.error, 'stan: invalid connection request');
    // And the client ID was not registered by any of these.
    const ok = await requestDecoded(nc, disc, ConnectRequestCodec.encode({ clientID: 'nohb', heartbeatInbox: createInbox() }), ConnectResponseCodec);
    assert.equal(ok.error, '');
  });

  test('a second connect with a live client ID is refused', async () => {
    const a = await connect(s.natsURL, cid, 'live-dup');
    try {
      const t0 = Date.now();
      await assert.rejects(connect(s.natsURL, cid, 'live-dup'), { message: 'stan: clientID already registered' });
      // The server waited for the liveness probe to be answered, not for its 500 ms timeout.
      assert.ok(Date.now() - t0 < 450, `took ${Date.now() - t0} ms`);
      // The first connection still works.
      await publish(a, 'live.dup', 'still-here');
    } finally {
      await close(a);
    }
  });

  test('a dead client (heartbeat inbox subscribed but silent) is replaced after the 500 ms probe', async () => {
    await rawStanConnect(nc, cid, 'dead-raw', { hb: 'ignore' });
    const t0 = Date.now();
    const b = await connect(s.natsURL, cid, 'dead-raw');
    const took = Date.now() - t0;
    try {
      assert.ok(took >= 450 && took < 1500, `replacement took ${took} ms`);
      await publish(b, 'dead.raw', 'x');
    } finally {
      await close(b);
    }
  });

  test('a dead client whose heartbeat inbox has no subscriber is replaced at once (no responders)', async () => {
    await rawStanConnect(nc, cid, 'dead-nosub', { hb: 'none' });
    const t0 = Date.now();
    const b = await connect(s.natsURL, cid, 'dead-nosub');
    try {
      assert.ok(Date.now() - t0 < 600, `replacement took ${Date.now() - t0} ms`);
      await publish(b, 'dead.nosub', 'x');
    } finally {
      await close(b);
    }
  });

  test('concurrent duplicate check: the second request is refused immediately', async () => {
    await rawStanConnect(nc, cid, 'dup-concurrent', { hb: 'ignore' });
    const req = ConnectRequestCodec.encode({ clientID: 'dup-concurrent', heartbeatInbox: createInbox() });
    const first = requestDecoded(nc, disc, req, ConnectResponseCodec);
    await nc.flush();
    const t0 = Date.now();
    const second = await requestDecoded(nc, disc, req, ConnectResponseCodec);
    assert.equal(second.error, 'stan: clientID already registered');
    assert.ok(Date.now() - t0 < 400, 'refused without waiting for the probe');
    const r1 = await first;
    assert.equal(r1.error, '');
    assert.equal(r1.pubPrefix, `_STAN.pub.${cid}`);
  });

  test('a client whose NATS connection died is replaced; its durable resumes, its plain sub is gone', async () => {
    const a = await connect(s.natsURL, cid, 'nats-died');
    await subscribe(a, 'died.ch', opts(a));
    const dur = await subscribe(a, 'died.ch', opts(a, (o) => o.setDurableName('d1').setDeliverAllAvailable()));
    const colA = new Collector(dur);
    await publish(a, 'died.ch', 'one');
    await colA.waitFor(1);
    await flushNats(a); // the ack of "one" reached the server
    killNats(a);

    const t0 = Date.now();
    const b = await connect(s.natsURL, cid, 'nats-died');
    assert.ok(Date.now() - t0 < 1500);
    try {
      await publish(b, 'died.ch', 'two');
      // Same durable name, same client ID: resumes (no duplicate error) after "one".
      const sub = await subscribe(b, 'died.ch', opts(b, (o) => o.setDurableName('d1').setDeliverAllAvailable()));
      const col = new Collector(sub);
      await col.waitFor(1);
      assert.deepEqual(col.datas(), ['two']);
      assert.deepEqual(col.seqs(), [2]);
      assert.equal(col.msgs[0].isRedelivered(), false);
      // The old plain subscription was removed with the old client: only the durable is left.
      const ch = s.server.core.channels.get('died.ch');
      assert.equal(ch?.plainSubs.size, 1);
      await endSub(sub, 'unsubscribe');
      assert.equal(ch?.plainSubs.size, 0);
      assert.equal(ch?.durables.size, 0);
    } finally {
      await close(b);
    }
  });

  test('client PINGs: answered with an empty payload for a known connID, error for unknown', async () => {
    const c = await rawStanConnect(nc, cid, 'pinger', { hb: 'answer' });
    const pings = c.resp.pingRequests;
    const okReply = await requestRaw(nc, pings, PingCodec.encode({ connID: c.connID }));
    assert.equal(okReply.length, 0);
    const bad = await requestDecoded(nc, pings, PingCodec.encode({ connID: new Uint8Array([9, 9, 9]) }), PingResponseCodec);
    assert.equal(bad.error, 'client has been replaced or is no longer registered');
    // Empty or undecodable pings get no reply at all.
    assert.deepEqual(await repliesWithin(nc, pings, new Uint8Array(0), 150), []);
    assert.deepEqual(await repliesWithin(nc, pings, GARBAGE, 150), []);
  });

  test('a real client that was replaced gets the ping error and reports connection lost', async () => {
    const a = await connect(s.natsURL, cid, 'replaced-pinged', { stanPingInterval: 1000, stanMaxPingOut: 3 });
    const lost = waitEvent<unknown>(a, 'connection_lost', 4000);
    // Close its registration behind its back (as a CloseRequest from another connection would).
    const { CloseRequestCodec, CloseResponseCodec } = await import('../../src/protocol/codec');
    const r = await requestDecoded(nc, `_STAN.close.${cid}`, CloseRequestCodec.encode({ clientID: 'replaced-pinged' }), CloseResponseCodec);
    assert.equal(r.error, '');
    const err = await lost;
    assert.equal(err instanceof Error ? err.message : String(err), 'client has been replaced or is no longer registered');
  });

  test('connection close: success, then unknown clientID; undecodable is refused', async () => {
    const { CloseRequestCodec, CloseResponseCodec } = await import('../../src/protocol/codec');
    const closeSubj = `_STAN.close.${cid}`;
    await rawStanConnect(nc, cid, 'to-close', { hb: 'answer' });
    const r1 = await requestDecoded(nc, closeSubj, CloseRequestCodec.encode({ clientID: 'to-close' }), CloseResponseCodec);
    assert.equal(r1.error, '');
    const r2 = await requestDecoded(nc, closeSubj, CloseRequestCodec.encode({ clientID: 'to-close' }), CloseResponseCodec);
    assert.equal(r2.error, 'stan: unknown clientID');
    const r3 = await requestDecoded(nc, closeSubj, CloseRequestCodec.encode({}), CloseResponseCodec);
    assert.equal(r3.error, 'stan: unknown clientID');
    const r4 = await requestDecoded(nc, closeSubj, GARBAGE, CloseResponseCodec);
    assert.equal(r4.error, 'stan: invalid close request');
    // After a close, the ID can be registered again at once (no liveness probe needed).
    const t0 = Date.now();
    await rawStanConnect(nc, cid, 'to-close', { hb: 'answer' });
    assert.ok(Date.now() - t0 < 400);
  });
});
