/**
 * Durable subscriptions (spec §3.3 kinds, durable resume, replace_durable; §3.6 close vs unsubscribe).
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
  sleep,
  subscribe,
  subscribeError,
  type Stan,
  flags,
} from '../helpers/stan';
import type { ServerHandle } from '../../src/index';

describe('STAN durable subscriptions', () => {
  let s: ServerHandle;
  let sc: Stan;
  let pub: Stan;

  before(async () => {
    s = await startTestServer();
    sc = await connect(s.natsURL, s.clusterID, 'dur-client');
    pub = await connect(s.natsURL, s.clusterID, 'dur-pub');
  });
  after(async () => {
    await close(sc);
    await close(pub);
    await s.close();
  });

  test('close then resume: continues after lastSent, unacked messages redelivered first', async () => {
    const ch = 'dur.resume';
    const o = () => opts(sc, (x) => x.setDurableName('d').setDeliverAllAvailable().setManualAckMode(true).setAckWait(30_000));
    const sub = await subscribe(sc, ch, o());
    const col = new Collector(sub, false);
    await publishN(pub, ch, 5);
    await col.waitFor(5);
    for (const m of col.msgs.slice(0, 3)) m.ack();
    await flushNats(sc);
    await endSub(sub, 'close');
    await publishN(pub, ch, 2, 'late');

    // The start position of the resuming request is ignored.
    const sub2 = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setStartAtSequence(1).setManualAckMode(true)));
    const col2 = new Collector(sub2, true);
    await col2.waitFor(4);
    assert.deepEqual(flags(col2.msgs), [
      [4, true],
      [5, true],
      [6, false],
      [7, false],
    ]);
    assert.deepEqual(col2.datas(), ['m4', 'm5', 'late1', 'late2']);
    await sleep(100);
    assert.equal(col2.msgs.length, 4, 'nothing more');
    await endSub(sub2, 'unsubscribe');
  });

  test('unsubscribe deletes the durable: a new one with the same name starts fresh', async () => {
    const ch = 'dur.unsub';
    const sub = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setDeliverAllAvailable()));
    const col = new Collector(sub);
    await publishN(pub, ch, 3);
    await col.waitFor(3);
    await flushNats(sc);
    await endSub(sub, 'unsubscribe');
    await publish(pub, ch, 'm4');
    const sub2 = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setDeliverAllAvailable()));
    const col2 = new Collector(sub2);
    await col2.waitFor(4);
    assert.deepEqual(flags(col2.msgs), [
      [1, false],
      [2, false],
      [3, false],
      [4, false],
    ]);
    await endSub(sub2, 'unsubscribe');
    // NewOnly for a fresh durable: nothing old.
    const sub3 = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d')));
    const col3 = new Collector(sub3);
    await publish(pub, ch, 'm5');
    await col3.waitFor(1);
    assert.deepEqual(col3.seqs(), [5]);
    await endSub(sub3, 'unsubscribe');
  });

  test('durables survive a connection close; the same client ID resumes them', async () => {
    const ch = 'dur.reconnect';
    const c1 = await connect(s.natsURL, s.clusterID, 'dur-reconnect');
    const sub = await subscribe(c1, ch, opts(c1, (x) => x.setDurableName('d').setManualAckMode(true).setAckWait(30_000)));
    const col = new Collector(sub, false);
    await publishN(pub, ch, 3);
    await col.waitFor(3);
    col.msgs[0].ack();
    await flushNats(c1);
    await close(c1);
    await publish(pub, ch, 'm4');

    // A different client ID has its own durable of that name: fresh, NewOnly.
    const other = await connect(s.natsURL, s.clusterID, 'dur-reconnect-other');
    const otherCol = new Collector(await subscribe(other, ch, opts(other, (x) => x.setDurableName('d'))));

    const c2 = await connect(s.natsURL, s.clusterID, 'dur-reconnect');
    const col2 = new Collector(await subscribe(c2, ch, opts(c2, (x) => x.setDurableName('d').setManualAckMode(true))));
    await col2.waitFor(3);
    assert.deepEqual(flags(col2.msgs), [
      [2, true],
      [3, true],
      [4, false],
    ]);
    await publish(pub, ch, 'm5');
    await col2.waitFor(4);
    await otherCol.waitFor(1);
    assert.deepEqual(otherCol.seqs(), [5]);
    await close(c2);
    await close(other);
  });

  test('resume takes MaxInflight from the new request', async () => {
    const ch = 'dur.mif';
    const sub = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setMaxInFlight(100)));
    await endSub(sub, 'close');
    await publishN(pub, ch, 5);
    const sub2 = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setMaxInFlight(2).setManualAckMode(true)));
    const col = new Collector(sub2, false);
    await col.waitFor(2);
    await sleep(150);
    assert.deepEqual(col.seqs(), [1, 2]);
    col.msgs[0].ack();
    await col.waitFor(3);
    await sleep(100);
    assert.deepEqual(col.seqs(), [1, 2, 3]);
    await endSub(sub2, 'unsubscribe');
  });

  test('without replace_durable, an online durable cannot be registered twice', async () => {
    const sub = await subscribe(sc, 'dur.norepl', opts(sc, (x) => x.setDurableName('d')));
    assert.equal(await subscribeError(sc, 'dur.norepl', opts(sc, (x) => x.setDurableName('d'))), 'stan: duplicate durable registration');
    await endSub(sub, 'unsubscribe');
  });
});

describe('STAN durable subscriptions with replace_durable', () => {
  let s: ServerHandle;
  let sc: Stan;

  before(async () => {
    s = await startTestServer({ streaming: { replaceDurable: true } });
    sc = await connect(s.natsURL, s.clusterID, 'repl-client');
  });
  after(async () => {
    await close(sc);
    await s.close();
  });

  test('an online durable is closed and resumed by the new request', async () => {
    const ch = 'repl.ch';
    const sub1 = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setManualAckMode(true).setAckWait(30_000)));
    const col1 = new Collector(sub1, false);
    await publishN(sc, ch, 3);
    await col1.waitFor(3);
    col1.msgs[0].ack();
    await flushNats(sc);

    const sub2 = await subscribe(sc, ch, opts(sc, (x) => x.setDurableName('d').setManualAckMode(true)));
    const col2 = new Collector(sub2, true);
    await col2.waitFor(2);
    assert.deepEqual(flags(col2.msgs), [
      [2, true],
      [3, true],
    ]);
    await publish(sc, ch, 'm4');
    await col2.waitFor(3);
    assert.deepEqual(col2.seqs(), [2, 3, 4]);
    // The replaced subscription's inbox gets nothing more.
    assert.equal(col1.msgs.length, 3);
    // Only one durable exists on the channel.
    assert.equal(s.server.core.channels.get(ch)?.durables.size, 1);
    await endSub(sub2, 'unsubscribe');
  });
});
