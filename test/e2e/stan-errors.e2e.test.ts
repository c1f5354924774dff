/**
 * Error paths: subscription request validation (spec §3.3), unsubscribe/close errors (§3.6),
 * and robustness against malformed payloads on every request subject.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, endSub, opts, publish, subscribe, subscribeError, type Stan } from '../helpers/stan';
import { defaultStoreLimits } from '../../src/config/options';
import {
  AckCodec,
  CloseRequestCodec,
  CloseResponseCodec,
  ConnectRequestCodec,
  StartPosition,
  type SubscriptionRequest,
  SubscriptionRequestCodec,
  SubscriptionResponseCodec,
} from '../../src/protocol/codec';
import type { ServerHandle } from '../../src/index';
import {
  createInbox,
  discoverSubject,
  GARBAGE,
  type NatsConnection,
  RawInbox,
  rawNats,
  rawStanConnect,
  rawSubscribe,
  rawUnsub,
  repliesWithin,
  requestDecoded,
  TRUNCATED,
} from '../helpers/raw';

describe('STAN error paths', () => {
  let s: ServerHandle;
  let nc: NatsConnection;
  let cid: string;
  let sc: Stan;

  before(async () => {
    const storeLimits = { ...defaultStoreLimits(), perChannel: { 'maxsub.*': { maxSubscriptions: 2 } } };
    s = await startTestServer({ streaming: { storeLimits } });
    cid = s.clusterID;
    nc = await rawNats(s.natsURL);
    await rawStanConnect(nc, cid, 'err-raw');
    sc = await connect(s.natsURL, cid, 'err-client');
  });
  after(async () => {
    await close(sc);
    await nc.close();
    await s.close();
  });

  describe('subscription request validation (first failing check wins)', () => {
    const ok: Partial<SubscriptionRequest> = { clientID: 'err-raw', subject: 'valid.ch', maxInFlight: 10, ackWaitInSecs: 5, startPosition: StartPosition.NewOnly };

    test('undecodable', async () => {
      const r = await requestDecoded(nc, `_STAN.sub.${cid}`, GARBAGE, SubscriptionResponseCodec);
      assert.deepEqual({ ackInbox: r.ackInbox, error: r.error }, { ackInbox: '', error: 'stan: invalid subscription request' });
    });

    test('each check in order', async () => {
      const cases: Array<[Partial<SubscriptionRequest>, string]> = [
        [{ ...ok, clientID: '', ackWaitInSecs: 0, maxInFlight: 0, subject: 'a.*' }, 'stan: clientID missing'],
        [{ ...ok, ackWaitInSecs: 0, maxInFlight: 0, startPosition: 9 }, 'stan: invalid ack wait time, should be >= 1s'],
        [{ ...ok, ackWaitInSecs: -3 }, 'stan: invalid ack wait time, should be >= 1s'],
        [{ ...ok, maxInFlight: 0, startPosition: 9, subject: 'a.*' }, 'stan: invalid MaxInflight, should be >= 1'],
        [{ ...ok, maxInFlight: -1 }, 'stan: invalid MaxInflight, should be >= 1'],
        [{ ...ok, startPosition: 5, subject: 'a.*' }, 'stan: invalid start position'],
        [{ ...ok, startPosition: -1 }, 'stan: invalid start position'],
        [{ ...ok, subject: 'foo.*', clientID: 'nobody' }, 'stan: invalid subject'],
        [{ ...ok, subject: 'foo.>' }, 'stan: invalid subject'],
        [{ ...ok, subject: 'foo..bar' }, 'stan: invalid subject'],
        [{ ...ok, subject: '' }, 'stan: invalid subject'],
        [{ ...ok, subject: 'foo.' }, 'stan: invalid subject'],
        [{ ...ok, clientID: 'nobody' }, 'stan: unknown clientID'],
        [{ ...ok, qGroup: 'g', durableName: 'a:b' }, "stan: durable name of a durable queue subscriber can't contain the character ':'"],
      ];
      for (const [req, error] of cases) {
        const r = await rawSubscribe(nc, cid, req);
        assert.deepEqual({ ackInbox: r.ackInbox, error: r.error }, { ackInbox: '', error }, JSON.stringify(req));
      }
      // Sanity: the base request is valid, and ':' is fine for a durable that is not a queue.
      assert.equal((await rawSubscribe(nc, cid, ok)).error, '');
      assert.equal((await rawSubscribe(nc, cid, { ...ok, durableName: 'a:b' })).error, '');
      // The invalid requests created no channel.
      assert.equal(s.server.core.channels.has('foo.*'), false);
    });

    test('duplicate durable registration (real client)', async () => {
      const o = opts(sc, (x) => x.setDurableName('dup'));
      const first = await subscribe(sc, 'dup.ch', o);
      assert.equal(await subscribeError(sc, 'dup.ch', opts(sc, (x) => x.setDurableName('dup'))), 'stan: duplicate durable registration');
      // Another client may use the same durable name (the key includes the client ID).
      const other = await connect(s.natsURL, cid, 'err-client-2');
      try {
        await subscribe(other, 'dup.ch', opts(other, (x) => x.setDurableName('dup')));
      } finally {
        await close(other);
      }
      // Once closed (offline) it can be resumed.
      await endSub(first, 'close');
      const again = await subscribe(sc, 'dup.ch', opts(sc, (x) => x.setDurableName('dup')));
      await endSub(again, 'unsubscribe');
    });

    test('too many subscriptions per channel (offline durables count)', async () => {
      const d = await subscribe(sc, 'maxsub.a', opts(sc, (x) => x.setDurableName('d')));
      await endSub(d, 'close');
      const p = await subscribe(sc, 'maxsub.a', opts(sc));
      assert.equal(await subscribeError(sc, 'maxsub.a', opts(sc)), 'too many subscriptions per channel');
      assert.equal(await subscribeError(sc, 'maxsub.a', opts(sc), 'qg'), 'too many subscriptions per channel');
      // Resuming the offline durable does not add a subscription.
      const resumed = await subscribe(sc, 'maxsub.a', opts(sc, (x) => x.setDurableName('d')));
      // Removing one frees a slot.
      await endSub(p, 'unsubscribe');
      const p2 = await subscribe(sc, 'maxsub.a', opts(sc));
      await endSub(p2, 'unsubscribe');
      await endSub(resumed, 'unsubscribe');
      // Other channels are not limited.
      for (let i = 0; i < 3; i++) await subscribe(sc, 'nolimit.a', opts(sc));
    });
  });

  describe('unsubscribe / close errors', () => {
    for (const isClose of [false, true]) {
      const kind = isClose ? 'sub close' : 'unsubscribe';

      test(`${kind}: unknown channel, invalid subscription, unknown clientID, undecodable`, async () => {
        const ch = `unsub.${isClose ? 'close' : 'unsub'}`;
        const r = await rawSubscribe(nc, cid, { clientID: 'err-raw', subject: ch });
        assert.equal(r.error, '');
        const req = { clientID: 'err-raw', subject: ch, inbox: r.ackInbox };
        let res = await rawUnsub(nc, cid, { ...req, subject: 'no.such.channel' }, isClose);
        assert.equal(res.error, 'stan: unknown channel');
        res = await rawUnsub(nc, cid, { ...req, inbox: '_INBOX.unknown' }, isClose);
        assert.equal(res.error, 'stan: invalid subscription');
        res = await rawUnsub(nc, cid, { ...req, clientID: 'err-client' }, isClose);
        assert.equal(res.error, 'stan: unknown clientID');
        res = await requestDecoded(nc, `_STAN.${isClose ? 'subclose' : 'unsub'}.${cid}`, GARBAGE, SubscriptionResponseCodec);
        assert.equal(res.error, 'stan: invalid unsubscribe request');
        // The subscription survived all of that; the right request removes it.
        res = await rawUnsub(nc, cid, req, isClose);
        assert.deepEqual({ ackInbox: res.ackInbox, error: res.error }, { ackInbox: '', error: '' });
        res = await rawUnsub(nc, cid, req, isClose);
        assert.equal(res.error, 'stan: invalid subscription');
      });
    }

    test('a subscription is also found by its delivery inbox', async () => {
      const inbox = createInbox();
      const r = await rawSubscribe(nc, cid, { clientID: 'err-raw', subject: 'unsub.byinbox', inbox });
      assert.equal(r.error, '');
      const res = await rawUnsub(nc, cid, { clientID: 'err-raw', subject: 'unsub.byinbox', inbox });
      assert.equal(res.error, '');
      assert.equal((await rawUnsub(nc, cid, { clientID: 'err-raw', subject: 'unsub.byinbox', inbox: r.ackInbox })).error, 'stan: invalid subscription');
    });
  });

  describe('robustness', () => {
    test('malformed payloads on every request subject never crash the server', async () => {
      const sub = await rawSubscribe(nc, cid, { clientID: 'err-raw', subject: 'robust.ch' });
      assert.equal(sub.error, '');
      const subjects = [
        discoverSubject(cid),
        `_STAN.pub.${cid}.robust.ch`,
        `_STAN.sub.${cid}`,
        `_STAN.unsub.${cid}`,
        `_STAN.subclose.${cid}`,
        `_STAN.close.${cid}`,
        `${discoverSubject(cid)}.pings`,
        sub.ackInbox,
      ];
      const payloads = [GARBAGE, TRUNCATED, new Uint8Array(0), new Uint8Array([0xff]), new Uint8Array(2048).fill(0x80), Buffer.from('PING\r\n')];
      for (const subject of subjects) {
        for (const p of payloads) {
          nc.publish(subject, p, { reply: createInbox() });
          nc.publish(subject, p); // and without a reply subject
        }
      }
      // Acks with unknown sequences / channels on a real ack inbox.
      nc.publish(sub.ackInbox, AckCodec.encode({ subject: 'robust.ch', sequence: 999 }));
      nc.publish(sub.ackInbox, AckCodec.encode({ subject: 'no.such', sequence: 1 }));
      await nc.flush();
      // A close request with an empty reply subject is still processed silently.
      nc.publish(`_STAN.close.${cid}`, CloseRequestCodec.encode({ clientID: 'nobody' }));

      // The server still serves: connect, subscribe, publish, deliver, ack, close.
      const c = await connect(s.natsURL, cid, 'after-garbage');
      const col = new Collector(await subscribe(c, 'robust.after', opts(c, (o) => o.setDeliverAllAvailable())));
      await publish(c, 'robust.after', 'alive');
      await col.waitFor(1);
      assert.deepEqual(col.datas(), ['alive']);
      await close(c);
      // Raw paths too.
      const inbox = new RawInbox(nc);
      const r2 = await rawSubscribe(nc, cid, { clientID: 'err-raw', subject: 'robust.ch', inbox: inbox.subject, startPosition: StartPosition.First });
      assert.equal(r2.error, '');
      const cr = await requestDecoded(nc, `_STAN.close.${cid}`, CloseRequestCodec.encode({ clientID: 'after-garbage' }), CloseResponseCodec);
      assert.equal(cr.error, 'stan: unknown clientID');
      inbox.unsubscribe();
    });

    test('requests without a reply subject get no answer but are processed', async () => {
      const inbox = new RawInbox(nc);
      nc.publish(
        `_STAN.sub.${cid}`,
        SubscriptionRequestCodec.encode({ clientID: 'err-raw', subject: 'noreply.ch', inbox: inbox.subject, maxInFlight: 5, ackWaitInSecs: 5 }),
      );
      await nc.flush();
      await publish(sc, 'noreply.ch', 'x');
      const [m] = await inbox.waitFor(1);
      assert.equal(m.sequence, 1);
      inbox.unsubscribe();
      // Connect with no reply subject: nothing breaks.
      nc.publish(discoverSubject(cid), ConnectRequestCodec.encode({ clientID: 'noreply-conn', heartbeatInbox: createInbox() }));
      assert.deepEqual(await repliesWithin(nc, `_STAN.close.${cid}`, CloseRequestCodec.encode({ clientID: 'noreply-conn' }), 200).then((r) => r.map((b) => CloseResponseCodec.decode(b).error)), ['']);
    });
  });
});
