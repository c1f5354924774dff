import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MsgProtoCodec, PubMsgCodec, SubscriptionRequestCodec, isCtrlMsg, CtrlMsgCodec, DecodeError } from '../../src/protocol/codec';
import { decodePubMsg, encodeMsgProto } from '../../src/protocol/fast';
import { redeliveredBytes } from '../../src/stan/delivery';

function randInt(max: number): number {
  return Math.floor(Math.random() * max);
}
function randStr(max: number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz.-_é€0123456789';
  let s = '';
  const n = randInt(max);
  for (let i = 0; i < n; i++) s += chars[randInt(chars.length)];
  return s;
}

test('encodeMsgProto is byte-identical to protobufjs on random messages', () => {
  const seqs = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1];
  const stamps = [0, 1, 1_700_000_000_000_000_000, 1_795_718_434_890_123_456, 2 ** 40];
  for (let i = 0; i < 500; i++) {
    const seq = i < seqs.length ? seqs[i] : randInt(2 ** 40);
    // Runs of one timestamp too (a burst shares one clock reading: the encoder keeps the last one's bytes).
    const timestamp = i < stamps.length ? stamps[i] : i % 3 === 0 ? 1_700_000_000_000_000_000 + randInt(2 ** 40) : 1_700_000_000_000_000_000 + Math.floor(i / 3) * 977;
    const subject = randStr(40);
    const reply = randStr(10);
    const data = randomBytes(randInt(300));
    const ours = encodeMsgProto(seq, subject, reply, data, timestamp);
    // proto3 (and the Go reference) omit default values; protobufjs writes any field that is
    // present, so the reference encoding is built with defaults left out.
    const ref = MsgProtoCodec.encode({
      ...(seq ? { sequence: seq } : {}),
      ...(subject ? { subject } : {}),
      ...(reply ? { reply } : {}),
      ...(data.length ? { data } : {}),
      ...(timestamp ? { timestamp } : {}),
    });
    assert.deepEqual(Buffer.from(ours), Buffer.from(ref), `seq=${seq} ts=${timestamp}`);
  }
});

test('encodeMsgProto with repeated and alternating subjects (its last-subject cache), short, UTF-8 and long', () => {
  const subjects = ['foo', 'foo', 'bar.é€', 'foo', 'x'.repeat(64), 'y'.repeat(65) + '€', 'y'.repeat(65) + '€', 'foo', 'z'.repeat(1000)];
  for (let round = 0; round < 3; round++) {
    for (const [i, subject] of subjects.entries()) {
      // A new string object with the same text must give the same bytes as the cached one.
      const subj = round === 1 ? `${subject} `.trimEnd() : subject;
      const data = Buffer.from(`payload ${i}`);
      const ours = encodeMsgProto(i + 1, subj, '', data, 1_700_000_000_000_000_000 + i);
      const ref = MsgProtoCodec.encode({ sequence: i + 1, subject: subj, data, timestamp: 1_700_000_000_000_000_000 + i });
      assert.deepEqual(Buffer.from(ours), Buffer.from(ref), `subject ${i} round ${round}`);
    }
  }
});

test('decodePubMsg matches protobufjs on random messages, including unknown fields', () => {
  for (let i = 0; i < 500; i++) {
    const msg = {
      clientID: randStr(20),
      guid: randStr(30),
      subject: randStr(40),
      reply: randStr(10),
      data: randomBytes(randInt(2000)),
      connID: randomBytes(randInt(3) === 0 ? 0 : 22),
      sha256: randomBytes(randInt(2) === 0 ? 0 : 32),
    };
    let bytes = Buffer.from(PubMsgCodec.encode(msg));
    if (i % 3 === 0) {
      // An unknown varint field (#15) and an unknown length-delimited field (#16) are skipped.
      bytes = Buffer.concat([bytes, Buffer.from([0x78, 0x96, 0x01, 0x82, 0x01, 0x02, 0x41, 0x42])]);
    }
    const ours = decodePubMsg(bytes);
    const ref = PubMsgCodec.decode(bytes);
    assert.equal(ours.clientID, ref.clientID ?? '');
    assert.equal(ours.guid, ref.guid ?? '');
    assert.equal(ours.subject, ref.subject ?? '');
    assert.equal(ours.reply, ref.reply ?? '');
    assert.deepEqual(Buffer.from(ours.data), Buffer.from(ref.data ?? []));
    assert.deepEqual(Buffer.from(ours.connID), Buffer.from(ref.connID ?? []));
    assert.deepEqual(Buffer.from(ours.sha256), Buffer.from(ref.sha256 ?? []));
  }
});

test('decodePubMsg rejects truncated input with a DecodeError', () => {
  const bytes = Buffer.from(PubMsgCodec.encode({ guid: 'abc', subject: 'foo', data: Buffer.from('hello world') }));
  for (let cut = 1; cut < bytes.length; cut++) {
    const part = bytes.subarray(0, cut);
    let threw = false;
    try {
      decodePubMsg(part);
    } catch (e) {
      threw = true;
      assert.ok(e instanceof DecodeError);
    }
    // A cut exactly between two fields is a valid (shorter) message; elsewhere it must throw.
    const boundaries = new Set([5, 10]);
    assert.equal(threw, !boundaries.has(cut), `cut at ${cut}`);
  }
});

test('redelivered bytes decode with the flag and count, other fields untouched', () => {
  const base = encodeMsgProto(42, 'foo', '', Buffer.from('payload'), 1_700_000_000_000_000_000);
  for (const count of [0, 1, 127, 128, 300000]) {
    const m = MsgProtoCodec.decode(redeliveredBytes(base, count));
    assert.equal(m.sequence, 42);
    assert.equal(m.subject, 'foo');
    assert.equal(Buffer.from(m.data).toString(), 'payload');
    assert.equal(m.redelivered, true);
    assert.equal(m.redeliveryCount ?? 0, count);
  }
});

test('protobufjs codecs: empty payload decodes to defaults; garbage throws DecodeError', () => {
  const r = SubscriptionRequestCodec.decode(new Uint8Array(0));
  assert.equal(r.clientID ?? '', '');
  assert.throws(() => PubMsgCodec.decode(Buffer.from([0x0a, 0xff, 0xff])), DecodeError);
});

test('isCtrlMsg recognises a legacy control message but not garbage', () => {
  assert.equal(isCtrlMsg(CtrlMsgCodec.encode({ MsgType: 3, ServerID: 'srv' })), true);
  assert.equal(isCtrlMsg(Buffer.from([0xff, 0xff, 0xff])), false);
  assert.equal(isCtrlMsg(new Uint8Array(0)), false);
});

test('decodePubMsgRaw gives the same fields as decodePubMsg, as byte ranges', async () => {
  const { decodePubMsgRaw, newPubMsgRaw, encodeOkPubAckBytes } = await import('../../src/protocol/fast');
  const raw = newPubMsgRaw();
  for (let i = 0; i < 200; i++) {
    const msg = { clientID: randStr(20), guid: randStr(30), subject: randStr(40), reply: randStr(10), data: randomBytes(randInt(500)), connID: randomBytes(randInt(2) ? 22 : 0) };
    const bytes = Buffer.from(PubMsgCodec.encode(msg));
    const full = decodePubMsg(bytes);
    decodePubMsgRaw(bytes, raw);
    const b = raw.buf;
    assert.equal(b.toString('utf8', raw.clientID0, raw.clientID1), full.clientID);
    assert.equal(b.toString('utf8', raw.guid0, raw.guid1), full.guid);
    assert.equal(b.toString('utf8', raw.subject0, raw.subject1), full.subject);
    assert.equal(b.toString('utf8', raw.reply0, raw.reply1), full.reply);
    assert.deepEqual(b.subarray(raw.data0, raw.data1), Buffer.from(full.data));
    assert.deepEqual(b.subarray(raw.connID0, raw.connID1), Buffer.from(full.connID));
    const ack = (await import('../../src/protocol/codec')).PubAckCodec.decode(encodeOkPubAckBytes(b.subarray(raw.guid0, raw.guid1)));
    assert.equal(ack.guid, full.guid);
  }
  // A CtrlMsg (field 1 as a varint) is rejected like by decodePubMsg, so it can be ignored.
  assert.throws(() => decodePubMsgRaw(CtrlMsgCodec.encode({ MsgType: 3, ServerID: 'x' }), raw), DecodeError);
});

test('decodePubMsgRaw of a range of a larger buffer reads only that range, with offsets in the buffer', async () => {
  const { decodePubMsgRaw, newPubMsgRaw } = await import('../../src/protocol/fast');
  const raw = newPubMsgRaw();
  for (let i = 0; i < 100; i++) {
    const msg = { clientID: randStr(20), guid: randStr(30), subject: randStr(40), reply: randStr(10), data: randomBytes(randInt(500)), connID: randomBytes(22) };
    const bytes = Buffer.from(PubMsgCodec.encode(msg));
    const full = decodePubMsg(bytes);
    // Garbage before and after the message: as in a socket chunk holding other frames.
    const before = randomBytes(1 + randInt(40));
    const chunk = Buffer.concat([before, bytes, Buffer.from('\r\nPUB x 3\r\nabc\r\n')]);
    decodePubMsgRaw(chunk, raw, before.length, before.length + bytes.length);
    assert.equal(raw.buf, chunk);
    assert.equal(chunk.toString('utf8', raw.guid0, raw.guid1), full.guid);
    assert.equal(chunk.toString('utf8', raw.subject0, raw.subject1), full.subject);
    assert.deepEqual(chunk.subarray(raw.data0, raw.data1), Buffer.from(full.data));
    assert.deepEqual(chunk.subarray(raw.connID0, raw.connID1), Buffer.from(full.connID));
  }
  // A length running past the range's end is refused even though the buffer goes on.
  const bytes = Buffer.from(PubMsgCodec.encode({ clientID: 'c', guid: 'g', subject: 's', reply: '', data: Buffer.from('hello'), connID: Buffer.alloc(0) }));
  const chunk = Buffer.concat([bytes, Buffer.alloc(16)]);
  decodePubMsgRaw(chunk, raw, 0, bytes.length);
  assert.equal(chunk.toString('utf8', raw.data0, raw.data1), 'hello');
  // The range ends inside the data field.
  assert.throws(() => decodePubMsgRaw(chunk, raw, 0, raw.data1 - 2), DecodeError);
});
