/**
 * Publish (spec §3.2): PubAck, sequencing, validation errors, CtrlMsg, channel creation errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, opts, publish, publishError, subscribe, type Stan } from '../helpers/stan';
import { CtrlMsgCodec, CtrlMsgType, PubAckCodec, StartPosition } from '../../src/protocol/codec';
import type { ServerHandle } from '../../src/index';
import { defaultStoreLimits } from '../../src/config/options';
import {
  GARBAGE,
  type NatsConnection,
  RawInbox,
  rawNats,
  rawPublish,
  rawStanConnect,
  rawSubscribe,
  repliesWithin,
  requestDecoded,
  type RawStanConn,
} from '../helpers/raw';

const INVALID_PUB = 'stan: invalid publish request';

describe('STAN publish', () => {
  let s: ServerHandle;
  let nc: NatsConnection;
  let cid: string;
  let sc: Stan;
  let raw: RawStanConn;

  before(async () => {
    s = await startTestServer({ streaming: { storeLimits: { ...defaultStoreLimits(), maxChannels: 12 } } });
    cid = s.clusterID;
    nc = await rawNats(s.natsURL);
    sc = await connect(s.natsURL, cid, 'pub-client', { ackTimeout: 2000 });
    raw = await rawStanConnect(nc, cid, 'raw-pub');
  });
  after(async () => {
    await close(sc);
    await nc.close();
    await s.close();
  });

  test('sequences start at 1 and increase by one; PubAck only after the message is stored', async () => {
    const guids: string[] = [];
    for (let i = 1; i <= 5; i++) {
      guids.push(await publish(sc, 'seq.ch', `m${i}`));
      // Acked ⇒ stored: a LastReceived subscriber created now gets exactly this message.
      const sub = await subscribe(sc, 'seq.ch', opts(sc, (o) => o.setStartWithLastReceived()));
      const col = new Collector(sub);
      await col.waitFor(1);
      assert.deepEqual(col.seqs(), [i]);
      assert.deepEqual(col.datas(), [`m${i}`]);
      sub.unsubscribe();
    }
    assert.equal(new Set(guids).size, 5);
    const all = new Collector(await subscribe(sc, 'seq.ch', opts(sc, (o) => o.setDeliverAllAvailable())));
    await all.waitFor(5);
    assert.deepEqual(all.seqs(), [1, 2, 3, 4, 5]);
    assert.deepEqual(all.datas(), ['m1', 'm2', 'm3', 'm4', 'm5']);
    // Sequences are per channel.
    await publish(sc, 'seq.other', 'o1');
    const other = new Collector(await subscribe(sc, 'seq.other', opts(sc, (o) => o.setDeliverAllAvailable())));
    await other.waitFor(1);
    assert.deepEqual(other.seqs(), [1]);
  });

  test('PubAck echoes the guid with no error; MsgProto carries subject, reply, data and a ns timestamp', async () => {
    const before = Date.now();
    const ack = await rawPublish(nc, cid, { clientID: 'raw-pub', guid: 'g-1', subject: 'fields.ch', reply: 'app.reply', data: Buffer.from('hello') });
    assert.deepEqual({ guid: ack.guid, error: ack.error }, { guid: 'g-1', error: '' });
    const ack2 = await rawPublish(nc, cid, { clientID: 'raw-pub', guid: 'g-2', subject: 'fields.ch', data: Buffer.from('world') });
    assert.equal(ack2.error, '');
    const inbox = new RawInbox(nc);
    const r = await rawSubscribe(nc, cid, { clientID: 'raw-pub', subject: 'fields.ch', inbox: inbox.subject, startPosition: StartPosition.First });
    assert.equal(r.error, '');
    assert.match(r.ackInbox, /^_INBOX\./);
    const [m1, m2] = await inbox.waitFor(2);
    assert.equal(m1.sequence, 1);
    assert.equal(m1.subject, 'fields.ch');
    assert.equal(m1.reply, 'app.reply');
    assert.equal(Buffer.from(m1.data).toString(), 'hello');
    assert.equal(m1.redelivered, false);
    assert.equal(m1.redeliveryCount, 0);
    const tsMs = m1.timestamp / 1e6;
    assert.ok(tsMs >= before - 5 && tsMs <= Date.now() + 5, `timestamp ${m1.timestamp} is Unix ns`);
    assert.equal(m2.sequence, 2);
    assert.equal(m2.reply, '');
    assert.ok(m2.timestamp >= m1.timestamp);
    inbox.unsubscribe();
  });

  test('the channel is PubMsg.subject, not the NATS subject; a publisher may be found by connID', async () => {
    const ack = await rawPublish(nc, cid, { clientID: '', connID: raw.connID, guid: 'g-c', subject: 'by.conn' }, 'some.other.subject');
    assert.equal(ack.error, '');
    const col = new Collector(await subscribe(sc, 'by.conn', opts(sc, (o) => o.setDeliverAllAvailable())));
    await col.waitFor(1);
    assert.deepEqual(col.seqs(), [1]);
    assert.equal(s.server.core.channels.has('some.other.subject'), false);
  });

  test('invalid publish requests', async () => {
    // Unknown client ID.
    let a = await rawPublish(nc, cid, { clientID: 'nobody', guid: 'g1', subject: 'inv.ch', data: Buffer.from('x') });
    assert.deepEqual({ guid: a.guid, error: a.error }, { guid: 'g1', error: INVALID_PUB });
    // Unknown connID wins over a known client ID (lookup is by connID when present).
    a = await rawPublish(nc, cid, { clientID: 'raw-pub', connID: new Uint8Array([1, 2]), guid: 'g2', subject: 'inv.ch' });
    assert.deepEqual({ guid: a.guid, error: a.error }, { guid: 'g2', error: INVALID_PUB });
    // Empty guid.
    a = await rawPublish(nc, cid, { clientID: 'raw-pub', guid: '', subject: 'inv.ch' });
    assert.deepEqual({ guid: a.guid, error: a.error }, { guid: '', error: INVALID_PUB });
    // Invalid channel names.
    for (const subject of ['foo..bar', 'foo.*', 'foo.>', '', '.foo', 'foo.', '*', '>', 'foo bar']) {
      a = await rawPublish(nc, cid, { clientID: 'raw-pub', guid: 'gs', subject }, 'valid');
      assert.deepEqual({ guid: a.guid, error: a.error }, { guid: 'gs', error: INVALID_PUB }, `subject ${JSON.stringify(subject)}`);
    }
    // Undecodable payload: PubAck with an empty guid.
    const bad = await requestDecoded(nc, `_STAN.pub.${cid}.inv.ch`, GARBAGE, PubAckCodec);
    assert.deepEqual({ guid: bad.guid, error: bad.error }, { guid: '', error: INVALID_PUB });
    // None of these created a channel or stored anything.
    assert.equal(s.server.core.channels.has('inv.ch'), false);
    // The real client surfaces the error too. ('foo..bar' cannot be used here: NATS itself
    // drops publishes to subjects with empty tokens, so the server never sees them.)
    assert.equal(await publishError(sc, 'foo.*', 'x'), INVALID_PUB);
  });

  test('a valid CtrlMsg on the publish subject gets no reply', async () => {
    const ctrl = CtrlMsgCodec.encode({ MsgType: CtrlMsgType.FTHeartbeat, ServerID: 'legacy-server-id' });
    assert.deepEqual(await repliesWithin(nc, `_STAN.pub.${cid}.ctrl.ch`, ctrl, 200), []);
    // Whereas garbage is answered.
    const replies = await repliesWithin(nc, `_STAN.pub.${cid}.ctrl.ch`, GARBAGE, 200);
    assert.equal(replies.length, 1);
    assert.equal(PubAckCodec.decode(replies[0]).error, INVALID_PUB);
  });

  test('channel names differing only by case are refused', async () => {
    await publish(sc, 'case.foo', 'x');
    assert.equal(
      await publishError(sc, 'Case.Foo', 'y'),
      'rejecting channel "Case.Foo" because channel "case.foo" alreay exists (different cases not allowed)',
    );
    // The same for a subscription creating the channel.
    const r = await rawSubscribe(nc, cid, { clientID: 'raw-pub', subject: 'CASE.foo' });
    assert.equal(r.error, 'rejecting channel "CASE.foo" because channel "case.foo" alreay exists (different cases not allowed)');
    assert.equal(r.ackInbox, '');
    // The original is untouched.
    await publish(sc, 'case.foo', 'z');
  });

  test('max_channels: creating one channel too many fails with "too many channels"', async () => {
    const limit = 12;
    let created = s.server.core.channels.size;
    for (; created < limit; created++) await publish(sc, `many.${created}`, 'x');
    assert.equal(await publishError(sc, 'many.one-too-many', 'x'), 'too many channels');
    const r = await rawSubscribe(nc, cid, { clientID: 'raw-pub', subject: 'many.sub-too-many' });
    assert.equal(r.error, 'too many channels');
    // Existing channels keep working.
    await publish(sc, `many.${limit - 1}`, 'y');
  });
});
