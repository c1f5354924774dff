/**
 * Store limits with the MEMORY store (spec §3.2 items 6-7, §5.2): max_msgs, max_bytes,
 * max_age, max_subs, max_inactivity, per-channel entries with wildcard inheritance.
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
  until,
  type Stan,
} from '../helpers/stan';
import { defaultStoreLimits, type StoreLimits } from '../../src/config/options';
import { MsgProtoCodec } from '../../src/protocol/codec';
import type { ServerHandle } from '../../src/index';
import { captureLogger } from '../helpers/nats-helpers';
import { formatFriendlyBytes } from '../../src/store/format';

const storeLimits: StoreLimits = {
  ...defaultStoreLimits(),
  maxMsgs: 1000,
  perChannel: {
    'mm.*': { maxMsgs: 3 },
    'mb.*': { maxBytes: 250 },
    'ma.*': { maxAge: 300 },
    'ms.*': { maxSubscriptions: 2 },
    'mi.*': { maxInactivity: 300 },
    // Inheritance: narrower entries take unset (or 0) values from the closest wider entry.
    'inh.>': { maxMsgs: 5, maxSubscriptions: 1 },
    'inh.a.*': { maxMsgs: 2 },
    'inh.b.*': { maxMsgs: -1 },
    'inh.z.*': { maxMsgs: 0 },
    'inh.lit': { maxBytes: 10_000 },
  },
};

describe('STAN store limits (MEMORY)', () => {
  let s: ServerHandle;
  let sc: Stan;
  const log = captureLogger();

  before(async () => {
    s = await startTestServer({ streaming: { storeLimits }, logger: log });
    sc = await connect(s.natsURL, s.clusterID, 'lim-client');
  });
  after(async () => {
    await close(sc);
    await s.close();
  });

  function limitNotices(channel: string): string[] {
    return log.lines.filter((l) => l.includes(`Reached limits for store "${channel}"`));
  }

  async function firstSeqs(ch: string, n: number): Promise<number[]> {
    const sub = await subscribe(sc, ch, opts(sc, (o) => o.setDeliverAllAvailable()));
    const col = new Collector(sub);
    await col.waitFor(n);
    await sleep(50);
    sub.unsubscribe();
    return col.seqs();
  }

  test('max_msgs drops the oldest; a First subscriber starts at the first remaining', async () => {
    await publishN(sc, 'mm.a', 5);
    assert.deepEqual(await firstSeqs('mm.a', 3), [3, 4, 5]);
    const cs = s.server.core.channels.get('mm.a')?.store.msgs;
    assert.deepEqual([cs?.firstSeq, cs?.lastSeq, cs?.msgCount], [3, 5, 3]);
  });

  test('the first drop of a channel is logged once, in the reference wording', async () => {
    await publishN(sc, 'mm.log', 3);
    assert.deepEqual(limitNotices('mm.log'), [], 'nothing dropped yet');
    await publishN(sc, 'mm.log', 3);
    const cs = s.server.core.channels.get('mm.log')?.store.msgs;
    // Logged when message 4 pushed out message 1: 3 messages left, of the same size as the 3 now kept.
    const bytes = formatFriendlyBytes(cs?.byteCount ?? 0);
    assert.deepEqual(limitNotices('mm.log'), [
      `INF WARNING: Reached limits for store "mm.log" (msgs=3/3 bytes=${bytes}/${formatFriendlyBytes(defaultStoreLimits().maxBytes)}), dropping old messages to make room for new ones`,
    ]);
    // max_bytes: its own channel, its own single notice.
    await publishN(sc, 'mb.log', 4, 'x'.repeat(100));
    const notices = limitNotices('mb.log');
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(notices[0], /^INF WARNING: Reached limits for store "mb\.log" \(msgs=2\/1000 bytes=\d+ B\/250 B\), dropping old messages to make room for new ones$/);
  });

  test('a durable whose next messages were dropped skips to the first available', async () => {
    const dur = await subscribe(sc, 'mm.skip', opts(sc, (o) => o.setDurableName('d')));
    const col = new Collector(dur);
    await publish(sc, 'mm.skip', 'm1');
    await col.waitFor(1);
    await flushNats(sc);
    await endSub(dur, 'close');
    await publishN(sc, 'mm.skip', 6, 'n'); // seqs 2..7, keeps 5..7
    const col2 = new Collector(await subscribe(sc, 'mm.skip', opts(sc, (o) => o.setDurableName('d'))));
    await col2.waitFor(3);
    await sleep(50);
    assert.deepEqual(col2.seqs(), [5, 6, 7]);
  });

  test('pending messages dropped by limits are not redelivered', async () => {
    const sub = await subscribe(sc, 'mm.pending', opts(sc, (o) => o.setManualAckMode(true).setAckWait(1000)));
    const col = new Collector(sub, false);
    await publish(sc, 'mm.pending', 'old');
    await col.waitFor(1);
    col.msgs.length = 0;
    // Ack everything new but never seq 1, which the limit then drops.
    const acking = new Collector(sub, true);
    await publishN(sc, 'mm.pending', 3, 'new');
    await acking.waitFor(3);
    await sleep(1300);
    assert.deepEqual(col.seqs(), [2, 3, 4], 'seq 1 was not redelivered');
    sub.unsubscribe();
  });

  test('max_bytes drops the oldest, always keeping the newest message', async () => {
    const data = 'x'.repeat(100);
    await publishN(sc, 'mb.a', 5, data);
    const size = MsgProtoCodec.encode({ sequence: 5, subject: 'mb.a', data: Buffer.from(`${data}5`), timestamp: Date.now() * 1e6 }).length;
    const keep = Math.floor(250 / size);
    assert.equal(keep, 2, `a ${size}-byte message: two fit in 250 bytes`);
    assert.deepEqual(await firstSeqs('mb.a', 2), [4, 5]);
    const cs = s.server.core.channels.get('mb.a')?.store.msgs;
    assert.ok((cs?.byteCount ?? 0) <= 250);
    // A single message above the limit is kept alone.
    await publish(sc, 'mb.a', 'y'.repeat(1000));
    assert.deepEqual(await firstSeqs('mb.a', 1), [6]);
  });

  test('max_age expires messages in the background; sequences continue', async () => {
    await publishN(sc, 'ma.a', 3);
    const cs = s.server.core.channels.get('ma.a')?.store.msgs;
    assert.equal(cs?.msgCount, 3);
    await until(() => cs?.msgCount === 0, 2000, 'expiry');
    assert.deepEqual([cs?.firstSeq, cs?.lastSeq], [4, 3]);
    const sub = await subscribe(sc, 'ma.a', opts(sc, (o) => o.setDeliverAllAvailable()));
    const col = new Collector(sub);
    await sleep(100);
    assert.equal(col.msgs.length, 0, 'nothing left to deliver');
    await publish(sc, 'ma.a', 'fresh');
    await col.waitFor(1);
    assert.deepEqual(col.seqs(), [4]);
    sub.unsubscribe();
  });

  test('max_subs refuses one subscription too many', async () => {
    const a = await subscribe(sc, 'ms.a', opts(sc));
    await subscribe(sc, 'ms.a', opts(sc), 'q');
    assert.equal(await subscribeError(sc, 'ms.a', opts(sc)), 'too many subscriptions per channel');
    await endSub(a, 'unsubscribe');
    await subscribe(sc, 'ms.a', opts(sc, (o) => o.setDurableName('d')));
  });

  test('max_inactivity deletes an idle channel; recreated, it starts at seq 1', async () => {
    await publishN(sc, 'mi.a', 2);
    assert.equal(s.server.core.channels.has('mi.a'), true);
    const t0 = Date.now();
    await until(() => !s.server.core.channels.has('mi.a'), 2000, 'the channel to be deleted');
    assert.ok(Date.now() - t0 >= 200, 'not before max_inactivity');
    await publish(sc, 'mi.a', 'again');
    assert.deepEqual(await firstSeqs('mi.a', 1), [1]);
  });

  test('max_inactivity: an active subscription keeps the channel; an offline durable does not', async () => {
    const sub = await subscribe(sc, 'mi.b', opts(sc, (o) => o.setDurableName('d')));
    await publish(sc, 'mi.b', 'x');
    await sleep(600);
    assert.equal(s.server.core.channels.has('mi.b'), true, 'kept while subscribed');
    await endSub(sub, 'close');
    await until(() => !s.server.core.channels.has('mi.b'), 2000, 'deletion after the durable went offline');
    // The durable went with the channel: a new one starts fresh.
    const col = new Collector(await subscribe(sc, 'mi.b', opts(sc, (o) => o.setDurableName('d').setDeliverAllAvailable())));
    await publish(sc, 'mi.b', 'y');
    await col.waitFor(1);
    assert.deepEqual(col.seqs(), [1]);
  });

  test('max_inactivity: publishing postpones the deletion', async () => {
    for (let i = 0; i < 5; i++) {
      await publish(sc, 'mi.c', `m${i}`);
      await sleep(150);
    }
    assert.equal(s.server.core.channels.has('mi.c'), true);
    await until(() => !s.server.core.channels.has('mi.c'), 2000, 'deletion');
  });

  test('per-channel limits inherit from the closest wildcard entry (0 = inherit, -1 = unlimited)', async () => {
    const cases: Array<[string, number, number[]]> = [
      ['inh.c', 7, [3, 4, 5, 6, 7]], // inh.> → 5
      ['inh.a.x', 7, [6, 7]], // inh.a.* → 2
      ['inh.b.x', 7, [1, 2, 3, 4, 5, 6, 7]], // unlimited despite inh.> = 5
      ['inh.z.x', 7, [3, 4, 5, 6, 7]], // 0 inherits 5
      ['inh.lit', 7, [3, 4, 5, 6, 7]], // literal entry, maxMsgs inherited
      ['other.ch', 7, [1, 2, 3, 4, 5, 6, 7]], // globals (1000)
    ];
    for (const [ch, n, expected] of cases) {
      await publishN(sc, ch, n);
      assert.deepEqual(await firstSeqs(ch, expected.length), expected, ch);
    }
    // maxSubscriptions inherited from inh.> by inh.a.x.
    await subscribe(sc, 'inh.a.y', opts(sc));
    assert.equal(await subscribeError(sc, 'inh.a.y', opts(sc)), 'too many subscriptions per channel');
    assert.deepEqual(s.server.core.channels.get('inh.lit')?.store.limits, {
      maxSubscriptions: 1,
      maxMsgs: 5,
      maxBytes: 10_000,
      maxAge: 0,
      maxInactivity: 0,
    });
  });
});
