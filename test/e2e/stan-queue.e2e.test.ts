/**
 * Queue groups (spec §3.3 kinds, §3.4 member choice, §3.5 member leaving, §3.6 shadows).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import {
  close,
  Collector,
  connect,
  endSub,
  flushNats,
  opts,
  publish,
  publishN,
  redeliveryCount,
  sleep,
  subscribe,
  until,
  type Stan,
  flags,
} from '../helpers/stan';
import type { ServerHandle } from '../../src/index';

describe('STAN queue groups', () => {
  let s: ServerHandle;
  let a: Stan;
  let b: Stan;
  let pub: Stan;

  before(async () => {
    s = await startTestServer();
    a = await connect(s.natsURL, s.clusterID, 'q-a');
    b = await connect(s.natsURL, s.clusterID, 'q-b');
    pub = await connect(s.natsURL, s.clusterID, 'q-pub');
  });
  after(async () => {
    await close(a);
    await close(b);
    await close(pub);
    await s.close();
  });

  const manual = (c: Stan, f: (o: ReturnType<Stan['subscriptionOptions']>) => void = () => undefined) =>
    opts(c, (o) => {
      o.setManualAckMode(true).setAckWait(30_000);
      f(o);
    });

  test('messages are distributed over the members, each exactly once (fewest pending, round-robin)', async () => {
    const ch = 'q.dist';
    const subA = await subscribe(a, ch, manual(a), 'g');
    const subB = await subscribe(b, ch, manual(b), 'g');
    const ca = new Collector(subA, false);
    const cb = new Collector(subB, false);
    await publishN(pub, ch, 10);
    await until(() => ca.msgs.length + cb.msgs.length === 10, 3000, '10 messages');
    await sleep(50);
    assert.deepEqual(ca.seqs(), [1, 3, 5, 7, 9]);
    assert.deepEqual(cb.seqs(), [2, 4, 6, 8, 10]);
    assert.ok([...ca.msgs, ...cb.msgs].every((m) => !m.isRedelivered()));
    // Another group on the same channel gets every message independently.
    const other = new Collector(await subscribe(pub, ch, opts(pub, (o) => o.setDeliverAllAvailable()), 'g2'));
    await other.waitFor(10);
    assert.deepEqual(other.seqs(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await endSub(subA, 'unsubscribe');
    await endSub(subB, 'unsubscribe');
  });

  test('acked members get more: the member with the fewest pending acks is chosen', async () => {
    const ch = 'q.fewest';
    const subA = await subscribe(a, ch, manual(a), 'g');
    const subB = await subscribe(b, ch, opts(b), 'g'); // auto-ack
    const ca = new Collector(subA, false);
    const cb = new Collector(subB);
    for (let i = 1; i <= 6; i++) {
      await publish(pub, ch, `m${i}`);
      await until(() => ca.msgs.length + cb.msgs.length === i, 3000, `message ${i}`);
      await flushNats(b);
      await sleep(10); // let B's ack reach the server
    }
    // A holds one unacked message; B acks everything, so B gets all the rest.
    assert.deepEqual(ca.seqs(), [1]);
    assert.deepEqual(cb.seqs(), [2, 3, 4, 5, 6]);
    await endSub(subA, 'unsubscribe');
    await endSub(subB, 'unsubscribe');
  });

  test('a new member starts at the group position; its start position is ignored', async () => {
    const ch = 'q.join';
    const subA = await subscribe(a, ch, opts(a, (o) => o.setDeliverAllAvailable()), 'g');
    const ca = new Collector(subA);
    await publishN(pub, ch, 3);
    await ca.waitFor(3);
    const subB = await subscribe(b, ch, opts(b, (o) => o.setDeliverAllAvailable()), 'g');
    const cb = new Collector(subB);
    await publishN(pub, ch, 4, 'n');
    await until(() => ca.msgs.length + cb.msgs.length === 7, 3000, '7 messages');
    await sleep(50);
    const all = [...ca.seqs(), ...cb.seqs()].sort((x, y) => x - y);
    assert.deepEqual(all, [1, 2, 3, 4, 5, 6, 7]);
    assert.ok(cb.seqs().every((q) => q >= 4), `B got ${JSON.stringify(cb.seqs())}`);
    assert.ok(cb.msgs.length > 0);
    await endSub(subA, 'unsubscribe');
    await endSub(subB, 'unsubscribe');
  });

  test('a member leaving with pending messages: they are redelivered to the others, flagged', async () => {
    for (const how of ['close', 'unsubscribe'] as const) {
      const ch = `q.leave.${how}`;
      const subA = await subscribe(a, ch, manual(a), 'g');
      const subB = await subscribe(b, ch, manual(b), 'g');
      const ca = new Collector(subA, false);
      const cb = new Collector(subB, false);
      await publishN(pub, ch, 4);
      await until(() => ca.msgs.length === 2 && cb.msgs.length === 2, 3000, 'distribution');
      assert.deepEqual(cb.seqs(), [2, 4]);
      const t0 = Date.now();
      await endSub(subB, how);
      await ca.waitFor(4, 2000);
      assert.ok(Date.now() - t0 < 1000, 'redelivered quickly (not after the 30 s ack wait)');
      assert.deepEqual(flags(ca.msgs), [
        [1, false],
        [3, false],
        [2, true],
        [4, true],
      ]);
      // New messages now all go to A.
      await publish(pub, ch, 'm5');
      await ca.waitFor(5);
      assert.deepEqual(flags(ca.msgs.slice(4)), [[5, false]]);
      await endSub(subA, 'unsubscribe');
    }
  });

  test('last member of a non-durable group leaves: the group is gone', async () => {
    const ch = 'q.gone';
    const subA = await subscribe(a, ch, opts(a), 'g');
    const ca = new Collector(subA);
    await publishN(pub, ch, 2);
    await ca.waitFor(2);
    await flushNats(a);
    await endSub(subA, 'close');
    assert.equal(s.server.core.channels.get(ch)?.queues.size, 0);
    await publish(pub, ch, 'm3');
    // A new member creates a new group: its start position is honoured.
    const subB = await subscribe(b, ch, opts(b, (o) => o.setDeliverAllAvailable()), 'g');
    const cb = new Collector(subB);
    await cb.waitFor(3);
    assert.deepEqual(flags(cb.msgs), [
      [1, false],
      [2, false],
      [3, false],
    ]);
    await endSub(subB, 'unsubscribe');
  });

  test('durable queue group: last member closes, the shadow keeps the position; a new member resumes', async () => {
    const ch = 'q.durable';
    const subA = await subscribe(a, ch, manual(a, (o) => o.setDurableName('dur').setDeliverAllAvailable()), 'g');
    const ca = new Collector(subA, false);
    await publishN(pub, ch, 3);
    await ca.waitFor(3);
    ca.msgs[0].ack();
    ca.msgs[1].ack();
    await flushNats(a);
    await endSub(subA, 'close');
    const g = s.server.core.channels.get(ch)?.queues.get('dur:g');
    assert.ok(g, 'group kept under "durable:group"');
    assert.equal(g.members.length, 0);
    assert.ok(g.shadow);
    await publish(pub, ch, 'm4');
    await sleep(50);
    assert.equal(ca.msgs.length, 3, 'nothing delivered while the group has no member');

    // Any client may rejoin; its start position is ignored.
    const subB = await subscribe(b, ch, manual(b, (o) => o.setDurableName('dur').setStartAtSequence(1)), 'g');
    const cb = new Collector(subB, true);
    await cb.waitFor(2);
    assert.deepEqual(flags(cb.msgs), [
      [3, true],
      [4, false],
    ]);
    await publish(pub, ch, 'm5');
    await cb.waitFor(3);
    assert.deepEqual(cb.seqs(), [3, 4, 5]);
    await flushNats(b);
    // Unsubscribing the last member deletes the durable group: a new one starts fresh.
    await endSub(subB, 'unsubscribe');
    assert.equal(s.server.core.channels.get(ch)?.queues.size, 0);
    const subC = await subscribe(a, ch, opts(a, (o) => o.setDurableName('dur').setDeliverAllAvailable()), 'g');
    const cc = new Collector(subC);
    await cc.waitFor(5);
    assert.deepEqual(cc.seqs(), [1, 2, 3, 4, 5]);
    assert.ok(cc.msgs.every((m) => !m.isRedelivered()));
    await endSub(subC, 'unsubscribe');
  });

  test('durable queue group survives its members\' connection close', async () => {
    const ch = 'q.durable.conn';
    const c1 = await connect(s.natsURL, s.clusterID, 'q-dur-conn');
    const ca = new Collector(await subscribe(c1, ch, opts(c1, (o) => o.setDurableName('dur').setDeliverAllAvailable()), 'g'));
    await publishN(pub, ch, 2);
    await ca.waitFor(2);
    await flushNats(c1);
    await close(c1);
    await publish(pub, ch, 'm3');
    const cb = new Collector(await subscribe(b, ch, opts(b, (o) => o.setDurableName('dur')), 'g'));
    await cb.waitFor(1);
    await sleep(50);
    assert.deepEqual(flags(cb.msgs), [[3, false]]);
  });

  test('group flow control: delivery stops when every member is stalled and resumes on ack', async () => {
    const ch = 'q.stall';
    const subA = await subscribe(a, ch, manual(a, (o) => o.setMaxInFlight(1)), 'g');
    const subB = await subscribe(b, ch, manual(b, (o) => o.setMaxInFlight(1)), 'g');
    const ca = new Collector(subA, false);
    const cb = new Collector(subB, false);
    await publishN(pub, ch, 4);
    await until(() => ca.msgs.length + cb.msgs.length === 2, 3000, 'two messages');
    await sleep(100);
    assert.equal(ca.msgs.length + cb.msgs.length, 2, 'both members stalled');
    ca.msgs[0].ack();
    await until(() => ca.msgs.length === 2, 3000, 'A gets the next one');
    assert.deepEqual(ca.seqs(), [1, 3]);
    assert.deepEqual(cb.seqs(), [2]);
    cb.msgs[0].ack();
    await until(() => cb.msgs.length === 2, 3000, 'B gets the next one');
    assert.deepEqual(cb.seqs(), [2, 4]);
    await endSub(subA, 'unsubscribe');
    await endSub(subB, 'unsubscribe');
  });
  test('an expired queue message moves to the best member (fewest pending), flagged, count 1', async () => {
    const ch = 'q.expire';
    const subA = await subscribe(a, ch, opts(a, (o) => o.setManualAckMode(true).setAckWait(1000)), 'g');
    const subB = await subscribe(b, ch, opts(b, (o) => o.setAckWait(1000)), 'g');
    const ca = new Collector(subA, false); // A never acks
    const cb = new Collector(subB); // B acks everything
    await publish(pub, ch, 'm1');
    await until(() => ca.msgs.length === 1, 3000, 'A gets m1');
    assert.deepEqual(cb.msgs.length, 0);
    await cb.waitFor(1, 3000);
    assert.deepEqual(
      cb.msgs.map((m) => [m.getSequence(), m.isRedelivered(), redeliveryCount(m)]),
      [[1, true, 1]],
    );
    // It left A's pending list (implicit ack): A never sees it again.
    await sleep(1300);
    assert.equal(ca.msgs.length, 1);
    assert.equal(cb.msgs.length, 1);
    await endSub(subA, 'unsubscribe');
    await endSub(subB, 'unsubscribe');
  });
});
