/**
 * Subscription start positions (spec §2.1 StartPosition table) and response ordering (§3.3).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, opts, publish, publishN, sleep, subscribe, type Stan } from '../helpers/stan';
import { defaultStoreLimits } from '../../src/config/options';
import { MsgProtoCodec, StartPosition, SubscriptionRequestCodec, SubscriptionResponseCodec } from '../../src/protocol/codec';
import type { ServerHandle } from '../../src/index';
import { StartPosition as stanStartPosition } from 'node-nats-streaming';
import { createInbox, type NatsConnection, rawNats, rawStanConnect } from '../helpers/raw';

describe('STAN subscription start positions', () => {
  let s: ServerHandle;
  let sc: Stan;
  let pub: Stan;

  before(async () => {
    // "lim.*" channels keep 3 messages, so their first sequence moves.
    const storeLimits = { ...defaultStoreLimits(), perChannel: { 'lim.*': { maxMsgs: 3 } } };
    s = await startTestServer({ streaming: { storeLimits } });
    sc = await connect(s.natsURL, s.clusterID, 'sub-start');
    pub = await connect(s.natsURL, s.clusterID, 'sub-start-pub');
  });
  after(async () => {
    await close(sc);
    await close(pub);
    await s.close();
  });

  /** Channel with m1..m5 (sequences 1..5). */
  async function channel(name: string): Promise<string> {
    await publishN(pub, name, 5);
    return name;
  }

  /** Subscribes, then publishes m6, and returns the sequences received once m6 arrived. */
  async function seqsWith6(ch: string, f: (o: ReturnType<Stan['subscriptionOptions']>) => void): Promise<number[]> {
    const col = new Collector(await subscribe(sc, ch, opts(sc, f)));
    await publish(pub, ch, 'm6');
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (col.datas().includes('m6')) {
          clearInterval(t);
          resolve();
        }
      }, 5);
      setTimeout(() => {
        clearInterval(t);
        reject(new Error(`m6 not received; got ${JSON.stringify(col.seqs())}`));
      }, 3000);
    });
    return col.seqs();
  }

  test('NewOnly (default): only messages published after the subscription', async () => {
    const ch = await channel('start.new');
    assert.deepEqual(await seqsWith6(ch, () => undefined), [6]);
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartAt(stanStartPosition.NEW_ONLY)), [7]);
  });

  test('LastReceived: starts with the last stored message; on an empty channel like NewOnly', async () => {
    const ch = await channel('start.last');
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartWithLastReceived()), [5, 6]);
    assert.deepEqual(await seqsWith6('start.last.empty', (o) => o.setStartWithLastReceived()), [1]);
  });

  test('First: every available message', async () => {
    const ch = await channel('start.first');
    assert.deepEqual(await seqsWith6(ch, (o) => o.setDeliverAllAvailable()), [1, 2, 3, 4, 5, 6]);
  });

  test('First and SequenceStart below first: start at the first available after limits dropped some', async () => {
    await publishN(pub, 'lim.a', 5); // keeps 3, 4, 5
    assert.deepEqual(await seqsWith6('lim.a', (o) => o.setDeliverAllAvailable()), [3, 4, 5, 6]);
    await publishN(pub, 'lim.b', 5);
    assert.deepEqual(await seqsWith6('lim.b', (o) => o.setStartAtSequence(1)), [3, 4, 5, 6]);
  });

  test('SequenceStart: in range, zero, above last', async () => {
    const ch = await channel('start.seq');
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartAtSequence(3)), [3, 4, 5, 6]);
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartAtSequence(6)), [6, 7]);
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartAtSequence(0)), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartAtSequence(100)), [9]);
  });

  test('TimeDeltaStart: from the first message newer than now - delta; none newer ⇒ NewOnly', async () => {
    const ch = 'start.time';
    await publishN(pub, ch, 3, 'old');
    await sleep(400);
    await publishN(pub, ch, 2, 'new');
    const col = new Collector(await subscribe(sc, ch, opts(sc, (o) => o.setStartAtTimeDelta(200))));
    await col.waitFor(2);
    assert.deepEqual(col.seqs(), [4, 5]);
    assert.deepEqual(col.datas(), ['new1', 'new2']);
    // A delta covering everything: from the first message.
    const all = new Collector(await subscribe(sc, ch, opts(sc, (o) => o.setStartAtTimeDelta(60_000))));
    await all.waitFor(5);
    assert.deepEqual(all.seqs(), [1, 2, 3, 4, 5]);
    // setStartTime (absolute date) is sent as a delta too.
    const byDate = new Collector(await subscribe(sc, ch, opts(sc, (o) => o.setStartTime(new Date(Date.now() - 60_000)))));
    await byDate.waitFor(5);
    assert.deepEqual(byDate.seqs(), [1, 2, 3, 4, 5]);
    // Nothing as recent as that: behaves as NewOnly.
    await sleep(50);
    assert.deepEqual(await seqsWith6(ch, (o) => o.setStartAtTimeDelta(20)), [6]);
  });

  describe('response ordering', () => {
    let nc: NatsConnection;
    before(async () => {
      nc = await rawNats(s.natsURL);
      await rawStanConnect(nc, s.clusterID, 'order-raw');
    });
    after(() => nc.close());

    test('the SubscriptionResponse arrives before any message', async () => {
      const ch = await channel('start.order');
      for (let round = 0; round < 5; round++) {
        const events: string[] = [];
        const inbox = createInbox();
        const replyTo = createInbox();
        const subMsgs = nc.subscribe(inbox, { callback: (_e, m) => events.push(`msg${MsgProtoCodec.decode(m.data).sequence}`) });
        const subResp = nc.subscribe(replyTo, {
          callback: (_e, m) => events.push(SubscriptionResponseCodec.decode(m.data).error === '' ? 'resp' : 'resp-error'),
        });
        nc.publish(
          `_STAN.sub.${s.clusterID}`,
          SubscriptionRequestCodec.encode({
            clientID: 'order-raw',
            subject: ch,
            inbox,
            maxInFlight: 100,
            ackWaitInSecs: 30,
            startPosition: StartPosition.First,
          }),
          { reply: replyTo },
        );
        const deadline = Date.now() + 3000;
        while (events.length < 6 + round && Date.now() < deadline) await sleep(5);
        const expected = ['resp'];
        for (let i = 1; i <= 5 + round; i++) expected.push(`msg${i}`);
        assert.deepEqual(events, expected);
        subMsgs.unsubscribe();
        subResp.unsubscribe();
        await publish(pub, ch, 'more');
      }
    });
  });
});
