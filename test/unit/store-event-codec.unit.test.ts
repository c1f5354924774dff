import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { ByteReader, ByteWriter, EventDecodeError } from '../../src/store/events/byte-io';
import { decodeEvent, encodeEvent } from '../../src/store/events/event-codec';
import { makeMix } from '../../src/bench/event-codec-bench';
import type { SubState } from '../../src/protocol/codec';

function sub(patch: Partial<SubState> = {}): SubState {
  return {
    ID: 42,
    clientID: 'client-1',
    qGroup: 'dur:workers',
    inbox: '_INBOX.abcdefghijklmnopqrstuv',
    ackInbox: '_STAN.acks.xyz',
    maxInFlight: 1024,
    ackWaitInSecs: 30,
    durableName: '',
    lastSent: 123_456_789,
    isDurable: true,
    isClosed: false,
    ...patch,
  };
}

/** One sample per kind; the test below checks that every EventKind has one. */
const samples: StoreEvent[] = [
  {
    kind: EventKind.ServerInit,
    clusterID: 'test-cluster',
    discovery: '_STAN.discover.test-cluster',
    publish: '_STAN.pub.ABC',
    subscribe: '_STAN.sub.ABC',
    unsubscribe: '_STAN.unsub.ABC',
    close: '_STAN.close.ABC',
    subClose: '_STAN.subclose.ABC',
    acksSubs: '',
  },
  {
    kind: EventKind.ClientConnected,
    clientID: 'me',
    hbInbox: '_INBOX.hb',
    connID: new Uint8Array([0, 1, 2, 255, 128]),
    protocol: 1,
    pingInterval: -5, // int32 fields may be negative on the wire: zig-zag keeps them
    pingMaxOut: 2147483647,
  },
  { kind: EventKind.ClientClosed, clientID: 'me' },
  { kind: EventKind.ChannelCreated, channelID: 7, name: 'orders.é.日本' },
  { kind: EventKind.ChannelDeleted, channelID: 7 },
  { kind: EventKind.SubCreated, channelID: 7, sub: sub() },
  { kind: EventKind.SubUpdated, channelID: 7, sub: sub({ isClosed: true, isDurable: true, clientID: '', maxInFlight: -1 }) },
  { kind: EventKind.SubDeleted, channelID: 7, subID: 42 },
  { kind: EventKind.SubPositionReset, channelID: 7, subID: 42, lastSent: 0 },
  { kind: EventKind.SubPositionReset, channelID: 3, subID: 9, lastSent: 2 ** 40 },
  { kind: EventKind.MsgsSent, channelID: 7, subID: 42, seqs: [5, 6, 7, 8, 20, 22, 24, 1, 2 ** 53 - 1] },
  { kind: EventKind.MsgsAcked, channelID: 7, subID: 42, seqs: [8, 7, 6, 5, 5, 100] },
  {
    kind: EventKind.MsgsExpired,
    channelID: 7,
    firstSeq: 1001,
    removedMsgs: 1000,
    removedBytes: 128_000,
    lastSeq: 5000,
    msgCount: 4000,
    byteCount: 512_000,
  },
  // A realistic Unix-nanosecond timestamp is above 2^53 (a multiple of 256 as a double).
  { kind: EventKind.MsgStored, channelID: 7, seq: 5001, timestamp: 1_700_000_000_123_456_768, size: 1_048_576 },
  { kind: EventKind.MsgRedelivered, channelID: 7, subID: 12, seq: 5001, count: 3 },
  { kind: EventKind.MsgDeadLettered, channelID: 7, subID: 12, seq: 5001, deliveries: 4 },
];

const allKinds = Object.values(EventKind).filter((v): v is EventKind => typeof v === 'number');

test('samples cover every event kind', () => {
  assert.deepEqual([...new Set(samples.map((s) => s.kind))].sort((a, b) => a - b), [...allKinds].sort((a, b) => a - b));
});

for (const e of samples) {
  test(`round-trip ${EventKind[e.kind]}`, () => {
    const body = encodeEvent(e);
    assert.ok(body instanceof Uint8Array);
    assert.deepStrictEqual(decodeEvent(e.kind, body), e);
    // The kind lives in its own column: the same body under another layout is not the event.
    const r = new ByteReader(body);
    assert.ok(r.more());
  });

  test(`truncated ${EventKind[e.kind]} bodies are refused, never misread`, () => {
    const body = encodeEvent(e);
    for (let n = 0; n < body.length; n++) {
      assert.throws(() => decodeEvent(e.kind, body.subarray(0, n)), EventDecodeError, `prefix of ${n}/${body.length} bytes`);
    }
  });

  test(`trailing bytes (fields appended by a newer version) are ignored: ${EventKind[e.kind]}`, () => {
    const body = encodeEvent(e);
    const longer = Buffer.concat([body, Buffer.from([1, 2, 3])]);
    assert.deepStrictEqual(decodeEvent(e.kind, longer), e);
  });
}

test('decoded bytes are copies, not views of the row buffer', () => {
  const e = samples[1] as Extract<StoreEvent, { kind: EventKind.ClientConnected }>;
  const body = encodeEvent(e);
  const d = decodeEvent(e.kind, body) as typeof e;
  body.fill(0);
  assert.deepStrictEqual(Array.from(d.connID), Array.from(e.connID));
});

test('unknown kind is refused with a clear error', () => {
  assert.throws(() => decodeEvent(99 as EventKind, new Uint8Array([1])), /unknown event kind 99/);
});

test('negative or NaN values in unsigned fields are refused at encode', () => {
  assert.throws(() => encodeEvent({ kind: EventKind.SubDeleted, channelID: -1, subID: 1 }), RangeError);
  assert.throws(() => encodeEvent({ kind: EventKind.SubDeleted, channelID: 1, subID: Number.NaN }), RangeError);
});

test('sequence lists: runs collapse, any order and duplicates survive', () => {
  const consecutive = Array.from({ length: 100 }, (_, i) => 1_000_000 + i);
  const body = encodeEvent({ kind: EventKind.MsgsSent, channelID: 1, subID: 1, seqs: consecutive });
  // channelID + subID + count + one run (delta, length): a handful of bytes for 100 seqs.
  assert.ok(body.length <= 10, `100 consecutive seqs took ${body.length} bytes`);
  const cases: number[][] = [
    [],
    [0],
    [1],
    [3, 2, 1],
    [1, 1, 1],
    [2 ** 53 - 1, 0, 2 ** 53 - 2, 2 ** 53 - 1],
    Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000),
  ];
  for (const seqs of cases) {
    const w = new ByteWriter(4);
    w.seqs(seqs);
    assert.deepStrictEqual(new ByteReader(w.finish()).seqs(), seqs);
  }
});

test('a corrupted sequence count cannot make the decoder allocate or loop forever', () => {
  const w = new ByteWriter();
  w.uint(2 ** 40); // claims a trillion sequences
  w.sint(5);
  w.uint(3);
  assert.throws(() => new ByteReader(w.finish()).seqs(), EventDecodeError);
  const w2 = new ByteWriter();
  w2.uint(2); // run longer than the count
  w2.sint(1);
  w2.uint(5);
  assert.throws(() => new ByteReader(w2.finish()).seqs(), /exceeds its count/);
});

test('varints: boundaries up to 2^64 are exact', () => {
  const values = [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 60, 2 ** 63];
  const w = new ByteWriter(1);
  for (const v of values) w.uint(v);
  const signed = [0, 1, -1, 63, -63, 64, -64, 2 ** 31, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1)];
  for (const v of signed) w.sint(v);
  const r = new ByteReader(w.finish());
  for (const v of values) assert.equal(r.uint(), v);
  for (const v of signed) assert.equal(r.sint(), v);
  assert.equal(r.more(), false);
});

test('strings: empty, ASCII, multi-byte, long', () => {
  const strings = ['', 'a', 'x'.repeat(127), 'y'.repeat(128), 'é', '日本語のチャンネル', 'mixed é ascii'.repeat(50), '\u0000\u007f'];
  const w = new ByteWriter(2);
  for (const s of strings) w.string(s);
  const r = new ByteReader(w.finish());
  for (const s of strings) assert.equal(r.string(), s);
});

test('strings cut out of the body text (ByteReader.withText, snapshots): the same values, other fields in between', () => {
  // Lengths around V8's 13-character slice threshold, non-ASCII among ASCII (its byte offsets
  // must not shift the ASCII strings after it), and a non-string field between strings.
  const strings = ['', 'abc', '_INBOX.12345', '_INBOX.123456', '_INBOX.abcdefghijklmnopqrstuv', 'é', '日本語のチャンネル', 'after.multibyte', '\u0000\u007f'];
  const w = new ByteWriter(2);
  for (const s of strings) {
    w.string(s);
    w.uint(300);
  }
  const bytes = w.finish();
  const r = ByteReader.withText(bytes, 'snapshot');
  for (const s of strings) {
    assert.equal(r.string(), s);
    assert.equal(r.uint(), 300);
  }
  assert.equal(r.more(), false);
  // Cut short inside a string: refused, not read past the end of the text.
  const cut = ByteReader.withText(bytes.subarray(0, 20), 'snapshot');
  assert.throws(() => {
    for (;;) {
      cut.string();
      cut.uint();
    }
  }, EventDecodeError);
});

test('random realistic mix round-trips (bench workload)', () => {
  const mix = makeMix(3000, 7);
  for (const e of mix) {
    const d = decodeEvent(e.kind, encodeEvent(e));
    if (e.kind === EventKind.ClientConnected) {
      assert.deepStrictEqual({ ...d, connID: Array.from((d as typeof e).connID) }, { ...e, connID: Array.from(e.connID) });
    } else {
      assert.deepStrictEqual(d, e);
    }
  }
});
