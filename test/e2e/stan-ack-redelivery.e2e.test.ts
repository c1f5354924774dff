/**
 * Manual acks, ack wait and redelivery, MaxInflight flow control (spec §3.4, §3.5).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import {
  close,
  Collector,
  connect,
  endSub,
  opts,
  publish,
  publishN,
  redeliveryCount,
  sleep,
  subscribe,
  until,
  type Message,
  type Stan,
} from '../helpers/stan';
import { AckCodec, CtrlMsgCodec, CtrlMsgType, StartPosition } from '../../src/protocol/codec';
import type { ServerHandle } from '../../src/index';
import { GARBAGE, type NatsConnection, RawInbox, rawNats, rawStanConnect, rawSubscribe, TRUNCATED } from '../helpers/raw';

describe('STAN acks and redelivery', () => {
  let s: ServerHandle;
  let sc: Stan;
  let nc: NatsConnection;
  let cid: string;

  before(async () => {
    s = await startTestServer();
    cid = s.clusterID;
    sc = await connect(s.natsURL, cid, 'ack-client');
    nc = await rawNats(s.natsURL);
    await rawStanConnect(nc, cid, 'ack-raw');
  });
  after(async () => {
    await close(sc);
    await nc.close();
    await s.close();
  });

  test('unacked messages are redelivered after ack wait with the flag and an increasing count', async () => {
    const ch = 'ack.redeliver';
    const sub = await subscribe(sc, ch, opts(sc, (o) => o.setManualAckMode(true).setAckWait(1000)));
    const col = new Collector(sub, false);
    const t0 = Date.now();
    await publish(sc, ch, 'x');
    await col.waitFor(1);
    assert.equal(col.msgs[0].isRedelivered(), false);
    assert.equal(redeliveryCount(col.msgs[0]), 0);
    await col.waitFor(2, 3000);
    const t1 = Date.now() - t0;
    assert.ok(t1 >= 900 && t1 < 1800, `first redelivery after ${t1} ms`);
    await col.waitFor(3, 3000);
    const t2 = Date.now() - t0;
    assert.ok(t2 >= 1900 && t2 < 2900, `second redelivery after ${t2} ms`);
    assert.deepEqual(
      col.msgs.map((m) => [m.getSequence(), m.isRedelivered(), redeliveryCount(m), String(m.getData())]),
      [
        [1, false, 0, 'x'],
        [1, true, 1, 'x'],
        [1, true, 2, 'x'],
      ],
    );
    // Acking the redelivered message stops redelivery.
    col.msgs[2].ack();
    await sleep(1300);
    assert.equal(col.msgs.length, 3);
    // The count is per sequence: a new message starts over.
    await publish(sc, ch, 'y');
    await col.waitFor(5, 3000);
    assert.deepEqual(
      col.msgs.slice(3).map((m) => [m.getSequence(), m.isRedelivered(), redeliveryCount(m)]),
      [
        [2, false, 0],
        [2, true, 1],
      ],
    );
    await endSub(sub, 'unsubscribe');
  });

  test('acked messages are never redelivered (auto ack)', async () => {
    const ch = 'ack.auto';
    const sub = await subscribe(sc, ch, opts(sc, (o) => o.setAckWait(1000)));
    const col = new Collector(sub);
    await publishN(sc, ch, 3);
    await col.waitFor(3);
    await sleep(1300);
    assert.deepEqual(col.seqs(), [1, 2, 3]);
    assert.ok(col.msgs.every((m) => !m.isRedelivered()));
    await endSub(sub, 'unsubscribe');
  });

  test('MaxInflight: never more than N unacked messages; acking resumes the flow', async () => {
    const ch = 'ack.mif';
    const sub = await subscribe(sc, ch, opts(sc, (o) => o.setManualAckMode(true).setMaxInFlight(3).setAckWait(30_000)));
    const col = new Collector(sub, false);
    let unacked = 0;
    let maxUnacked = 0;
    sub.on('message', () => {
      unacked++;
      maxUnacked = Math.max(maxUnacked, unacked);
    });
    await publishN(sc, ch, 10);
    await col.waitFor(3);
    await sleep(150);
    assert.deepEqual(col.seqs(), [1, 2, 3], 'stalled at 3');
    for (let i = 0; i < 7; i++) {
      unacked--;
      col.msgs[i].ack();
      await col.waitFor(4 + i);
    }
    await sleep(100);
    assert.deepEqual(col.seqs(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(maxUnacked, 3);
    assert.ok(col.msgs.every((m) => !m.isRedelivered()));
    await endSub(sub, 'unsubscribe');
  });

  test('MaxInflight 1 with a burst: strictly one at a time', async () => {
    const ch = 'ack.mif1';
    const sub = await subscribe(sc, ch, opts(sc, (o) => o.setManualAckMode(true).setMaxInFlight(1).setDeliverAllAvailable()));
    const got: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const done = new Promise<void>((resolve) => {
      sub.on('message', (m: Message) => {
        got.push(m.getSequence());
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          m.ack();
        }, 20);
        if (got.length === 5) resolve();
      });
    });
    await publishN(sc, ch, 5);
    await done;
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.equal(maxInFlight, 1);
    await endSub(sub, 'unsubscribe');
  });

  test('acks for unknown sequences and malformed acks are ignored; pending stays pending', async () => {
    const ch = 'ack.raw';
    const inbox = new RawInbox(nc);
    const r = await rawSubscribe(nc, cid, { clientID: 'ack-raw', subject: ch, inbox: inbox.subject, ackWaitInSecs: 1, maxInFlight: 10 });
    assert.equal(r.error, '');
    await publish(sc, 'ack.other', 'x');
    await publishN(sc, ch, 2);
    await inbox.waitFor(2);
    // Garbage on the ack inbox, acks of unknown sequences, a CtrlMsg, an ack for another channel.
    for (const p of [GARBAGE, TRUNCATED, new Uint8Array(0), CtrlMsgCodec.encode({ MsgType: CtrlMsgType.SubClose, ServerID: 'legacy' })]) nc.publish(r.ackInbox, p);
    nc.publish(r.ackInbox, AckCodec.encode({ subject: ch, sequence: 99 }));
    nc.publish(r.ackInbox, AckCodec.encode({ subject: 'no.such.channel', sequence: 1 }));
    // An existing channel that is not the subscription's: no such subscription there.
    nc.publish(r.ackInbox, AckCodec.encode({ subject: 'ack.other', sequence: 1 }));
    nc.publish(r.ackInbox, AckCodec.encode({ subject: '', sequence: 1 }));
    // A valid ack for seq 2 only.
    nc.publish(r.ackInbox, AckCodec.encode({ subject: ch, sequence: 2 }));
    await nc.flush();
    await inbox.waitFor(3, 3000);
    await sleep(200);
    assert.deepEqual(
      inbox.msgs.map((m) => [m.sequence, m.redelivered, m.redeliveryCount]),
      [
        [1, false, 0],
        [2, false, 0],
        [1, true, 1],
      ],
    );
    nc.publish(r.ackInbox, AckCodec.encode({ subject: ch, sequence: 1 }));
    await nc.flush();
    await sleep(1200);
    assert.equal(inbox.msgs.length, 3, 'no more redeliveries after the ack');
    inbox.unsubscribe();
  });

  test('queue group: an ack on one member\'s ack inbox acks the seq held by another member', async () => {
    const ch = 'ack.queue';
    const ia = new RawInbox(nc);
    const ib = new RawInbox(nc);
    const base = { clientID: 'ack-raw', subject: ch, qGroup: 'g', ackWaitInSecs: 1, maxInFlight: 10, startPosition: StartPosition.NewOnly };
    const ra = await rawSubscribe(nc, cid, { ...base, inbox: ia.subject });
    const rb = await rawSubscribe(nc, cid, { ...base, inbox: ib.subject });
    assert.equal(ra.error + rb.error, '');
    await publishN(sc, ch, 2);
    await until(() => ia.msgs.length + ib.msgs.length === 2, 3000, 'two deliveries');
    assert.deepEqual([ia.msgs.map((m) => m.sequence), ib.msgs.map((m) => m.sequence)], [[1], [2]]);
    // Both acks sent on A's ack inbox.
    nc.publish(ra.ackInbox, AckCodec.encode({ subject: ch, sequence: 1 }));
    nc.publish(ra.ackInbox, AckCodec.encode({ subject: ch, sequence: 2 }));
    await nc.flush();
    await sleep(1300);
    assert.equal(ia.msgs.length + ib.msgs.length, 2, 'nothing redelivered');
    ia.unsubscribe();
    ib.unsubscribe();
  });
});
