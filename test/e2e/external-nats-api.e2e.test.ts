/**
 * Our server embedded with `startServer({streaming:{natsServerURL}})` on a real external NATS
 * server: STAN behaviours seen by the real node-nats-streaming client, and malformed raw
 * requests (nats.js v2) answered with the spec's error strings (§4).
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { startServer, type ServerHandle } from '../../src/index';
import { RealNatsServer } from '../helpers/nats-server';
import { close, Collector, connect, endSub, publish, sleep, subscribe, type Message, type Stan } from '../helpers/stan';
import { createInbox, GARBAGE, rawNats, rawStanConnect, requestDecoded, discoverSubject, type NatsConnection } from '../helpers/raw';
import {
  CloseResponseCodec,
  ConnectRequestCodec,
  ConnectResponseCodec,
  PubAckCodec,
  PubMsgCodec,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
  type ConnectResponse,
} from '../../src/protocol/codec';

const CID = `ext-api-${process.pid}`;
let nats: RealNatsServer;
let srv: ServerHandle;
let raw: NatsConnection;
let info: ConnectResponse;
const clients: Stan[] = [];

before(async () => {
  nats = await RealNatsServer.start();
  srv = await startServer({
    streaming: { clusterID: CID, natsServerURL: nats.url, clientHBInterval: 100, clientHBTimeout: 100, clientHBFailCount: 2 },
  });
  raw = await rawNats(nats.url);
  // The server's subjects, as a client learns them.
  const probe = await rawStanConnect(raw, CID, 'subjects-probe', { hb: 'answer' });
  info = probe.resp;
});

after(async () => {
  await Promise.all(clients.map((c) => close(c).catch(() => undefined)));
  await raw?.close();
  await srv?.close();
  await nats?.stop();
});

async function client(id: string): Promise<Stan> {
  const sc = await connect(nats.url, CID, id);
  clients.push(sc);
  return sc;
}

test('natsURL is the external server; connect, publish, subscribe', async () => {
  assert.equal(srv.natsURL, nats.url);
  const sc = await client('api-basic');
  const sub = await subscribe(sc, 'api.basic', sc.subscriptionOptions());
  const col = new Collector(sub);
  const guid = await publish(sc, 'api.basic', 'hello');
  assert.ok(guid.length > 0);
  await col.waitFor(1);
  assert.equal(col.datas()[0], 'hello');
  assert.equal(col.msgs[0].isRedelivered(), false);
});

test('all start positions', async () => {
  const sc = await client('api-startpos');
  for (let i = 1; i <= 5; i++) await publish(sc, 'api.sp', `m${i}`);
  const cases: Array<[string, ReturnType<Stan['subscriptionOptions']>, number[]]> = [
    ['all', sc.subscriptionOptions().setDeliverAllAvailable(), [1, 2, 3, 4, 5]],
    ['last', sc.subscriptionOptions().setStartWithLastReceived(), [5]],
    ['seq 3', sc.subscriptionOptions().setStartAtSequence(3), [3, 4, 5]],
    ['time delta', sc.subscriptionOptions().setStartAtTimeDelta(60_000), [1, 2, 3, 4, 5]],
    ['time', sc.subscriptionOptions().setStartTime(new Date(Date.now() - 60_000)), [1, 2, 3, 4, 5]],
  ];
  for (const [name, opts, want] of cases) {
    const sub = await subscribe(sc, 'api.sp', opts);
    const col = new Collector(sub);
    await col.waitFor(want.length);
    await sleep(50);
    assert.deepEqual(col.seqs(), want, name);
    await endSub(sub, 'unsubscribe');
  }
  // New only: nothing old, then the next one.
  const sub = await subscribe(sc, 'api.sp', sc.subscriptionOptions());
  const col = new Collector(sub);
  await publish(sc, 'api.sp', 'm6');
  await col.waitFor(1);
  assert.deepEqual(col.seqs(), [6]);
});

test('durable subscription resumes where it left off', async () => {
  const pub = await client('api-dur-pub');
  const sc = await client('api-dur');
  const opts = (): ReturnType<Stan['subscriptionOptions']> => sc.subscriptionOptions().setDurableName('d1').setDeliverAllAvailable();
  const sub = await subscribe(sc, 'api.dur', opts());
  const col = new Collector(sub);
  await publish(pub, 'api.dur', '1');
  await publish(pub, 'api.dur', '2');
  await col.waitFor(2);
  await sleep(50); // let the acks reach the server
  await endSub(sub, 'close');
  await publish(pub, 'api.dur', '3');
  await publish(pub, 'api.dur', '4');
  const sub2 = await subscribe(sc, 'api.dur', opts());
  const col2 = new Collector(sub2);
  await col2.waitFor(2);
  await sleep(50);
  assert.deepEqual(col2.seqs(), [3, 4]);
});

test('queue group: each message to exactly one member', async () => {
  const a = await client('api-q-a');
  const b = await client('api-q-b');
  const colA = new Collector(await subscribe(a, 'api.q', a.subscriptionOptions(), 'workers'));
  const colB = new Collector(await subscribe(b, 'api.q', b.subscriptionOptions(), 'workers'));
  for (let i = 1; i <= 10; i++) await publish(a, 'api.q', `${i}`);
  const deadline = Date.now() + 5000;
  while (colA.msgs.length + colB.msgs.length < 10 && Date.now() < deadline) await sleep(10);
  await sleep(50);
  const all = [...colA.seqs(), ...colB.seqs()].sort((x, y) => x - y);
  assert.deepEqual(all, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(colA.msgs.length > 0 && colB.msgs.length > 0, `both members get work: ${colA.msgs.length}/${colB.msgs.length}`);
});

test('manual ack: an unacked message is redelivered after the ack wait', async () => {
  const sc = await client('api-redeliver');
  const sub = await subscribe(sc, 'api.redel', sc.subscriptionOptions().setManualAckMode(true).setAckWait(1000).setDeliverAllAvailable());
  const got: Message[] = [];
  sub.on('message', (m: Message) => {
    got.push(m);
    if (m.isRedelivered()) m.ack();
  });
  await publish(sc, 'api.redel', 'x');
  const deadline = Date.now() + 4000;
  while (got.length < 2 && Date.now() < deadline) await sleep(20);
  assert.equal(got.length, 2);
  assert.equal(got[0].isRedelivered(), false);
  assert.equal(got[1].isRedelivered(), true);
  assert.equal(got[1].getSequence(), 1);
  await sleep(1300);
  assert.equal(got.length, 2, 'acked: no further redelivery');
});

test('client replacement: a dead client ID is taken over, a live one is refused', async () => {
  await rawStanConnect(raw, CID, 'api-dead', { hb: 'none' });
  const sc = await client('api-dead'); // the 500 ms probe gets no answer → replaced
  await publish(sc, 'api.repl', 'ok');

  const live = await rawStanConnect(raw, CID, 'api-live', { hb: 'answer' });
  const resp = await requestDecoded(
    raw,
    discoverSubject(CID),
    ConnectRequestCodec.encode({ clientID: 'api-live', heartbeatInbox: createInbox(), protocol: 1 }),
    ConnectResponseCodec,
  );
  assert.equal(resp.error, 'stan: clientID already registered');
  live.hbSub?.unsubscribe();
});

test('heartbeats: a live client is probed; a client that stops answering is removed', async () => {
  const c = await rawStanConnect(raw, CID, 'api-hb', { hb: 'none' });
  let hbs = 0;
  const watch = raw.subscribe(c.hbInbox, {
    callback: (_e, m) => {
      hbs++;
      if (hbs <= 3) m.respond(new Uint8Array(0)); // alive for three beats, then silent
    },
  });
  await sleep(1200);
  watch.unsubscribe();
  assert.ok(hbs >= 4, `heartbeats received: ${hbs}`);
  // Removed: a publish with its client ID is now refused.
  const ack = await requestDecoded(
    raw,
    `${info.pubPrefix}.api.hb`,
    PubMsgCodec.encode({ clientID: 'api-hb', guid: 'g1', subject: 'api.hb', data: new Uint8Array([1]) }),
    PubAckCodec,
  );
  assert.equal(ack.error, 'stan: invalid publish request');
});

test('malformed raw requests get the spec error strings', async () => {
  const conn = await requestDecoded(raw, discoverSubject(CID), GARBAGE, ConnectResponseCodec);
  assert.equal(conn.error, 'stan: invalid connection request');
  const noHb = await requestDecoded(raw, discoverSubject(CID), ConnectRequestCodec.encode({ clientID: 'x' }), ConnectResponseCodec);
  assert.equal(noHb.error, 'stan: invalid connection request');
  const badID = await requestDecoded(
    raw,
    discoverSubject(CID),
    ConnectRequestCodec.encode({ clientID: 'bad id!', heartbeatInbox: '_INBOX.hb' }),
    ConnectResponseCodec,
  );
  assert.equal(badID.error, 'stan: invalid clientID: only alphanumeric and `-` or `_` characters allowed');

  const pub = await requestDecoded(raw, `${info.pubPrefix}.foo`, GARBAGE, PubAckCodec);
  assert.equal(pub.error, 'stan: invalid publish request');
  const sub = await requestDecoded(raw, info.subRequests, GARBAGE, SubscriptionResponseCodec);
  assert.equal(sub.error, 'stan: invalid subscription request');
  const subReq = { clientID: 'subjects-probe', subject: 'foo', inbox: '_INBOX.s', maxInFlight: 1, ackWaitInSecs: 30 };
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ clientID: '' }, 'stan: clientID missing'],
    [{ ackWaitInSecs: 0 }, 'stan: invalid ack wait time, should be >= 1s'],
    [{ maxInFlight: 0 }, 'stan: invalid MaxInflight, should be >= 1'],
    [{ startPosition: 9 }, 'stan: invalid start position'],
    [{ subject: 'foo.*' }, 'stan: invalid subject'],
    [{ clientID: 'nobody' }, 'stan: unknown clientID'],
  ];
  for (const [patch, want] of cases) {
    const r = await requestDecoded(raw, info.subRequests, SubscriptionRequestCodec.encode({ ...subReq, ...patch }), SubscriptionResponseCodec);
    assert.equal(r.error, want, JSON.stringify(patch));
  }
  const unsub = await requestDecoded(raw, info.unsubRequests, GARBAGE, SubscriptionResponseCodec);
  assert.equal(unsub.error, 'stan: invalid unsubscribe request');
  const closeBad = await requestDecoded(raw, info.closeRequests, GARBAGE, CloseResponseCodec);
  assert.equal(closeBad.error, 'stan: invalid close request');
  const closeUnknown = await requestDecoded(
    raw,
    info.closeRequests,
    new Uint8Array(0), // CloseRequest{} — empty client ID
    CloseResponseCodec,
  );
  assert.equal(closeUnknown.error, 'stan: unknown clientID');
});
