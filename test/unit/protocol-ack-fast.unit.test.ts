import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AckCodec } from '../../src/protocol/codec';
import { ACK_NOT_FAST, fastAckSeq } from '../../src/protocol/ack-fast';

const name = (s: string): Buffer => Buffer.from(s, 'utf8');

test('acks as the clients encode them are read on the fast path, with the exact sequence', () => {
  for (const subject of ['foo', 'orders.eu.créé', 'x'.repeat(200), 'a.b.c.d.e.f.g.h.i.j']) {
    for (const seq of [1, 127, 128, 300, 16_383, 16_384, 2 ** 31, 2 ** 32 + 5, 2 ** 52 + 1]) {
      const bytes = AckCodec.encode({ subject, sequence: seq });
      assert.equal(fastAckSeq(bytes, name(subject)), seq, `${subject} ${seq}`);
    }
  }
});

test('an ack for another channel, or not in the fast form, goes to the slow path', () => {
  const ok = AckCodec.encode({ subject: 'foo', sequence: 7 });
  assert.equal(fastAckSeq(ok, name('fop')), ACK_NOT_FAST);
  assert.equal(fastAckSeq(ok, name('fo')), ACK_NOT_FAST);
  assert.equal(fastAckSeq(AckCodec.encode({ subject: 'foo', sequence: 0 }), name('foo')), ACK_NOT_FAST, 'sequence 0 is omitted on the wire');
  assert.equal(fastAckSeq(AckCodec.encode({ subject: '', sequence: 3 }), name('foo')), ACK_NOT_FAST);
  assert.equal(fastAckSeq(Buffer.concat([ok, Buffer.from([0x18, 0x01])]), name('foo')), ACK_NOT_FAST, 'unknown trailing field');
  assert.equal(fastAckSeq(ok.subarray(0, ok.length - 1), name('foo')), ACK_NOT_FAST, 'truncated');
  // Sequence first, then subject: valid protobuf, decoded by the slow path.
  assert.equal(fastAckSeq(Buffer.from([0x10, 0x07, 0x0a, 0x03, 0x66, 0x6f, 0x6f]), name('foo')), ACK_NOT_FAST);
  assert.equal(fastAckSeq(Buffer.alloc(0), name('foo')), ACK_NOT_FAST);
});

test('on random bodies the fast path never answers differently from protobufjs', () => {
  let x = 12345;
  const rnd = (): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x >>> 16;
  };
  const subj = name('foo');
  for (let i = 0; i < 20_000; i++) {
    // Mostly near-valid bodies: a valid ack with a few bytes changed or cut.
    const b = Buffer.from(AckCodec.encode({ subject: 'foo', sequence: 1 + (rnd() % 100_000) }));
    const flips = rnd() % 3;
    for (let f = 0; f < flips; f++) b[rnd() % b.length] = rnd() & 0xff;
    const body = b.subarray(0, b.length - (rnd() % 4 === 0 ? rnd() % b.length : 0));
    const fast = fastAckSeq(body, subj);
    if (fast === ACK_NOT_FAST) continue;
    const slow = AckCodec.decode(body);
    assert.equal(slow.subject, 'foo');
    assert.equal(slow.sequence, fast);
  }
});
