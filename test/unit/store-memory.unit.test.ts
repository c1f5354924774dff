import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultStoreLimits, type StoreLimits } from '../../src/config/options';
import { MemoryStore, type MemoryMsgStore } from '../../src/store/memory';
import { StoreError, type NewMsg } from '../../src/store/contract';
import { MsgProtoCodec, type SubState } from '../../src/protocol/codec';

function limits(patch: Partial<StoreLimits> = {}): StoreLimits {
  return { ...defaultStoreLimits(), ...patch };
}

function msg(seq: number, data = 'x', timestampNs = seq * 1_000_000): NewMsg {
  return { seq, timestamp: timestampNs, subject: 'foo', reply: '', data: Buffer.from(data) };
}

function sub(): SubState {
  return {
    ID: 0,
    clientID: 'c',
    qGroup: '',
    inbox: 'in',
    ackInbox: 'ack',
    maxInFlight: 1,
    ackWaitInSecs: 30,
    durableName: '',
    lastSent: 0,
    isDurable: false,
    isClosed: false,
  };
}

function seqs(ms: MemoryMsgStore): number[] {
  const out: number[] = [];
  for (let s = ms.firstSeq; s <= ms.lastSeq; s++) if (ms.lookupCached(s)) out.push(s);
  return out;
}

test('store basics: type, recover, commit, sequences', async () => {
  const st = new MemoryStore(limits());
  assert.equal(st.type, 'MEMORY');
  assert.equal(await st.recover(), null);
  const ch = st.createChannel('foo');
  assert.equal(ch.name, 'foo');
  assert.equal(ch.msgs.firstSeq, 0);
  assert.equal(ch.msgs.lastSeq, 0);
  const m1 = ch.msgs.store(msg(1, 'hello', 123456789));
  // Stored form is the marshalled MsgProto with redelivered=false.
  const dec = MsgProtoCodec.decode(m1.bytes);
  assert.equal(dec.sequence, 1);
  assert.equal(dec.subject, 'foo');
  assert.equal(Buffer.from(dec.data).toString(), 'hello');
  assert.equal(dec.timestamp, 123456789);
  assert.equal(dec.redelivered, false);
  ch.msgs.store(msg(2));
  assert.equal(ch.msgs.firstSeq, 1);
  assert.equal(ch.msgs.lastSeq, 2);
  assert.equal(ch.msgs.msgCount, 2);
  assert.equal(ch.msgs.byteCount, m1.bytes.length + (ch.msgs.lookupCached(2)?.bytes.length ?? NaN));
  // seq <= lastSeq is ignored
  ch.msgs.store(msg(2, 'other'));
  ch.msgs.store(msg(1, 'other'));
  assert.equal(ch.msgs.msgCount, 2);
  assert.equal(Buffer.from(MsgProtoCodec.decode(ch.msgs.lookupCached(1)!.bytes).data).toString(), 'hello');
  assert.equal(ch.msgs.lookupCached(3), undefined);
  assert.equal(ch.msgs.lookupCached(0), undefined);
  const looked = await ch.msgs.lookup(1);
  assert.equal(looked?.seq, 1);
  assert.equal(looked?.timestamp, 123456789);
  const p1 = st.commit();
  assert.equal(st.commit(), p1); // one shared resolved promise
  await p1;
  await st.close();
});

test('max_channels: too many channels; lookup/delete/channelCount', () => {
  const st = new MemoryStore(limits({ maxChannels: 2 }));
  st.createChannel('a');
  st.createChannel('b');
  assert.equal(st.channelCount, 2);
  assert.throws(() => st.createChannel('c'), (e: unknown) => e instanceof StoreError && e.message === 'too many channels');
  assert.throws(() => st.createChannel('a'), StoreError);
  assert.ok(st.lookupChannel('a'));
  assert.equal(st.lookupChannel('c'), undefined);
  st.deleteChannel('a');
  assert.equal(st.lookupChannel('a'), undefined);
  assert.equal(st.channelCount, 1);
  st.createChannel('c');
  // max_channels 0 = unlimited
  const un = new MemoryStore(limits({ maxChannels: 0 }));
  for (let i = 0; i < 150; i++) un.createChannel(`ch${i}`);
  assert.equal(un.channelCount, 150);
});

test('constructor validates the limits', () => {
  assert.throws(() => new MemoryStore(limits({ maxMsgs: -5 })), { message: 'max messages limit cannot be negative (-5)' });
});

test('channels get their effective per-channel limits', () => {
  const st = new MemoryStore(limits({ perChannel: { 'foo.>': { maxMsgs: 7 }, bar: { maxMsgs: -1 } } }));
  assert.equal(st.createChannel('foo.x').limits.maxMsgs, 7);
  assert.equal(st.createChannel('bar').limits.maxMsgs, 0);
  assert.equal(st.createChannel('baz').limits.maxMsgs, 1_000_000);
});

test('max_subs: too many subscriptions per channel; ids are store-wide and increasing', () => {
  const st = new MemoryStore(limits({ maxSubscriptions: 2 }));
  const a = st.createChannel('a');
  const b = st.createChannel('b');
  const s1 = sub();
  const s2 = sub();
  const s3 = sub();
  a.subs.createSub(s1);
  a.subs.createSub(s2);
  b.subs.createSub(s3);
  assert.ok(s1.ID > 0 && s2.ID > s1.ID && s3.ID > s2.ID);
  assert.equal(a.subs.subCount, 2);
  assert.throws(
    () => a.subs.createSub(sub()),
    (e: unknown) => e instanceof StoreError && e.message === 'too many subscriptions per channel',
  );
  a.subs.updateSub(s1);
  a.subs.addSeqPending(s1.ID, 1);
  a.subs.ackSeqPending(s1.ID, 1);
  a.subs.deleteSub(s1.ID);
  a.subs.deleteSub(s1.ID); // idempotent
  assert.equal(a.subs.subCount, 1);
  const s4 = sub();
  a.subs.createSub(s4);
  assert.ok(s4.ID > s3.ID);
  assert.equal(a.subs.subCount, 2);
});

test('max_msgs drops the oldest, keeps the newest', () => {
  const st = new MemoryStore(limits({ maxMsgs: 3 }));
  const ch = st.createChannel('foo');
  const ms = ch.msgs as MemoryMsgStore;
  for (let i = 1; i <= 10; i++) ms.store(msg(i, `m${i}`));
  assert.equal(ms.msgCount, 3);
  assert.equal(ms.firstSeq, 8);
  assert.equal(ms.lastSeq, 10);
  assert.deepEqual(seqs(ms), [8, 9, 10]);
  assert.equal(ms.lookupCached(7), undefined);
  assert.equal(Buffer.from(MsgProtoCodec.decode(ms.lookupCached(10)!.bytes).data).toString(), 'm10');
  const expectBytes = [8, 9, 10].reduce((n, s) => n + ms.lookupCached(s)!.bytes.length, 0);
  assert.equal(ms.byteCount, expectBytes);
});

test('max_bytes drops the oldest but always keeps one message', () => {
  const st = new MemoryStore(limits({ maxBytes: 100 }));
  const ms = st.createChannel('foo').msgs;
  const sizes: number[] = [];
  for (let i = 1; i <= 20; i++) sizes.push(ms.store(msg(i, 'a'.repeat(20))).bytes.length);
  // Sizes vary with the varint width of seq/timestamp: count how many of the newest fit.
  let fit = 0;
  for (let i = sizes.length - 1, total = 0; i >= 0 && total + sizes[i] <= 100; i--) {
    total += sizes[i];
    fit++;
  }
  assert.equal(ms.msgCount, fit);
  assert.equal(ms.lastSeq, 20);
  assert.equal(ms.firstSeq, 20 - fit + 1);
  assert.ok(ms.byteCount <= 100);
  // A single message larger than max_bytes is kept.
  ms.store(msg(21, 'b'.repeat(500)));
  assert.equal(ms.msgCount, 1);
  assert.equal(ms.firstSeq, 21);
  assert.ok(ms.byteCount > 100);
});

test('ring buffer: growth and many drops keep lookups correct', () => {
  const st = new MemoryStore(limits({ maxMsgs: 1000 }));
  const ms = st.createChannel('foo').msgs;
  for (let i = 1; i <= 5000; i++) ms.store(msg(i, `p${i}`));
  assert.equal(ms.firstSeq, 4001);
  assert.equal(ms.msgCount, 1000);
  for (const s of [4001, 4500, 5000]) {
    const m = ms.lookupCached(s);
    assert.equal(m?.seq, s);
    assert.equal(MsgProtoCodec.decode(m!.bytes).sequence, s);
    assert.equal(Buffer.from(MsgProtoCodec.decode(m!.bytes).data).toString(), `p${s}`);
  }
  assert.equal(ms.lookupCached(4000), undefined);
});

test('unlimited channel keeps everything', () => {
  const st = new MemoryStore(limits({ maxMsgs: 0, maxBytes: 0 }));
  const ms = st.createChannel('foo').msgs;
  for (let i = 1; i <= 3000; i++) ms.store(msg(i));
  assert.equal(ms.msgCount, 3000);
  assert.equal(ms.firstSeq, 1);
});

test('a sequence gap leaves an empty slot', () => {
  const st = new MemoryStore(limits({ maxMsgs: 2 }));
  const ms = st.createChannel('foo').msgs;
  ms.store(msg(1));
  ms.store(msg(4));
  assert.equal(ms.msgCount, 2);
  assert.equal(ms.lookupCached(2), undefined);
  assert.equal(ms.lookupCached(4)?.seq, 4);
  ms.store(msg(5));
  // Dropping 1 also skips the gap: first is the next real message.
  assert.equal(ms.firstSeq, 4);
  assert.equal(ms.msgCount, 2);
});

test('firstSeqAtOrAfter: binary search by timestamp', async () => {
  const st = new MemoryStore(limits());
  const ms = st.createChannel('foo').msgs;
  assert.equal(await ms.firstSeqAtOrAfter(5), 1); // never had messages: lastSeq+1
  // timestamps 10,20,20,30,40 for seqs 1..5
  const ts = [10, 20, 20, 30, 40];
  ts.forEach((t, i) => ms.store(msg(i + 1, 'x', t)));
  assert.equal(await ms.firstSeqAtOrAfter(0), 1);
  assert.equal(await ms.firstSeqAtOrAfter(10), 1);
  assert.equal(await ms.firstSeqAtOrAfter(11), 2);
  assert.equal(await ms.firstSeqAtOrAfter(20), 2);
  assert.equal(await ms.firstSeqAtOrAfter(25), 4);
  assert.equal(await ms.firstSeqAtOrAfter(40), 5);
  assert.equal(await ms.firstSeqAtOrAfter(41), 6);
});

test('max_age with an injected clock: expiry, first = last + 1 when empty, reuse', async () => {
  let now = 1_000_000; // ms
  const st = new MemoryStore(limits({ maxAge: 1000 }), { now: () => now });
  const ch = st.createChannel('foo');
  const ms = ch.msgs as MemoryMsgStore;
  ms.store(msg(1, 'a', now * 1e6));
  now += 500;
  ms.store(msg(2, 'b', now * 1e6));
  now += 600; // msg 1 is 1100 ms old, msg 2 600 ms
  assert.equal(ms.expire(), 1);
  assert.deepEqual(seqs(ms), [2]);
  assert.equal(ms.firstSeq, 2);
  now += 400;
  assert.equal(ms.expire(), 1);
  assert.equal(ms.msgCount, 0);
  assert.equal(ms.byteCount, 0);
  assert.equal(ms.lastSeq, 2);
  assert.equal(ms.firstSeq, 3);
  assert.equal(ms.lookupCached(2), undefined);
  assert.equal(await ms.firstSeqAtOrAfter(0), 3);
  ms.store(msg(3, 'c', now * 1e6));
  assert.equal(ms.firstSeq, 3);
  assert.equal(ms.lastSeq, 3);
  assert.equal(ms.lookupCached(3)?.seq, 3);
  await st.close();
});

test('max_age with real timers: messages expire in the background', async () => {
  const st = new MemoryStore(limits({ maxAge: 80 }));
  const ch = st.createChannel('foo');
  const ms = ch.msgs;
  ms.store(msg(1, 'a', Date.now() * 1e6));
  await sleep(50);
  ms.store(msg(2, 'b', Date.now() * 1e6));
  await sleep(60); // msg 1 ~110 ms old, msg 2 ~60 ms
  assert.equal(ms.lookupCached(1), undefined);
  assert.equal(ms.lookupCached(2)?.seq, 2);
  await sleep(80);
  assert.equal(ms.msgCount, 0);
  assert.equal(ms.firstSeq, 3);
  assert.equal(ms.lastSeq, 2);
  await st.close();
});

test('deleteChannel and close stop the age timer', async () => {
  const st = new MemoryStore(limits({ maxAge: 50 }));
  const ms = st.createChannel('foo').msgs;
  ms.store(msg(1, 'a', Date.now() * 1e6));
  st.deleteChannel('foo');
  await sleep(90);
  // The deleted channel's store was not touched by a timer.
  assert.equal(ms.msgCount, 1);
  const ms2 = st.createChannel('foo').msgs;
  assert.notEqual(ms2, ms);
  assert.equal(ms2.lastSeq, 0);
  ms2.store(msg(1, 'a', Date.now() * 1e6));
  await st.close();
  await sleep(90);
  assert.equal(ms2.msgCount, 1);
});
