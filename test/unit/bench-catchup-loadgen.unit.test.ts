/**
 * The catch-up load generator's wire (src/bench/nats-frames.ts, catchup-loadgen.ts): MSG
 * frames parsed on the bytes even when split across socket reads, with and without a reply
 * subject; and the MsgProto's sequence and redelivered flag read as the server writes them
 * (a first delivery, and a redelivery with fields 6 and 7 appended).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NatsFrameParser } from '../../src/bench/nats-frames';
import { readSeqAndFlag } from '../../src/bench/catchup-loadgen';
import { MsgProtoCodec } from '../../src/protocol/codec';
import { redeliveredBytes } from '../../src/stan/delivery';

interface Got {
  sid: number;
  payload: string;
  reply: string;
}

function parserWithLog(): { p: NatsFrameParser; got: Got[]; other: string[] } {
  const got: Got[] = [];
  const other: string[] = [];
  const p = new NatsFrameParser({
    handlerOf: (sid) =>
      sid === 99
        ? undefined
        : (buf, s, e, rs, re) => got.push({ sid, payload: buf.toString('latin1', s, e), reply: buf.toString('latin1', rs, re) }),
    onPing: () => other.push('ping'),
    onPong: () => other.push('pong'),
    onInfo: (j) => other.push(`info ${j}`),
    onError: (t) => other.push(`err ${t}`),
  });
  return { p, got, other };
}

test('MSG frames with and without reply, control lines, and an unknown sid dropped', () => {
  const { p, got, other } = parserWithLog();
  p.feed(Buffer.from('INFO {"a":1}\r\nMSG a.b 1 5\r\nhello\r\nPING\r\nMSG x 2 _INBOX.r 0\r\n\r\nMSG y 99 3\r\nabc\r\n+OK\r\nPONG\r\n-ERR \'bad\'\r\n'));
  assert.deepEqual(got, [
    { sid: 1, payload: 'hello', reply: '' },
    { sid: 2, payload: '', reply: '_INBOX.r' },
  ]);
  assert.deepEqual(other, ['info {"a":1}', 'ping', 'pong', "err 'bad'"]);
});

test('a frame split at every byte position is delivered once, whole', () => {
  const wire = Buffer.from('MSG s 7 _R 12\r\nhello\r\nworld\r\nMSG s 7 4\r\nabcd\r\n');
  for (let cut = 1; cut < wire.length; cut++) {
    const { p, got } = parserWithLog();
    p.feed(wire.subarray(0, cut));
    p.feed(wire.subarray(cut));
    assert.deepEqual(
      got.map((g) => g.payload),
      ['hello\r\nworld', 'abcd'],
      `cut at ${cut}`,
    );
    assert.equal(got[0].reply, '_R');
  }
});

test('a line that is not NATS protocol is an error, not a silent skip', () => {
  const { p } = parserWithLog();
  assert.throws(() => p.feed(Buffer.from('HELLO\r\n')), /unexpected line/);
  assert.throws(() => parserWithLog().p.feed(Buffer.from('MSG a b 3\r\nabc\r\n')), /not a number/);
});

test('sequence and redelivered flag of a first delivery and of a redelivery', () => {
  const msg = MsgProtoCodec.encode({ sequence: 300_001, subject: 'foo', data: Buffer.alloc(128, 7), timestamp: 1_700_000_000_000_000_000 });
  const flag = { redelivered: true };
  assert.equal(readSeqAndFlag(msg, 0, msg.length, flag), 300_001);
  assert.equal(flag.redelivered, false);
  const again = redeliveredBytes(msg, 2);
  const framed = Buffer.concat([Buffer.from('xx'), again, Buffer.from('yy')]);
  assert.equal(readSeqAndFlag(framed, 2, 2 + again.length, flag), 300_001);
  assert.equal(flag.redelivered, true);
  assert.equal(readSeqAndFlag(msg, 0, msg.length - 3, flag), -1, 'truncated: no sequence claimed');
});
