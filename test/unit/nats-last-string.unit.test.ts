import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LastString } from '../../src/nats/embedded/last-string';
import { ProtocolParser, type ParserHandler } from '../../src/nats/embedded/parser';

test('the same bytes give back the same string object; other bytes their own string', () => {
  const c = new LastString();
  const a = Buffer.from('xx_STAN.pub.abc.foo yy');
  const s1 = c.get(a, 2, 19);
  assert.equal(s1, '_STAN.pub.abc.foo');
  // Same bytes in another buffer at another offset: the cached object.
  const b = Buffer.from('_STAN.pub.abc.foo');
  assert.equal(c.get(b, 0, b.length), s1);
  // Same length, one byte different (the last one): a new string with the new text.
  const d = Buffer.from('_STAN.pub.abc.fop');
  assert.equal(c.get(d, 0, d.length), '_STAN.pub.abc.fop');
  // The cache now holds the new bytes; the old ones decode again.
  assert.equal(c.get(b, 0, b.length), '_STAN.pub.abc.foo');
  // A prefix of the cached bytes is not the cached string.
  assert.equal(c.get(b, 0, 5), '_STAN');
  assert.equal(c.get(b, 0, 0), '');
});

test('UTF-8 and long byte strings decode correctly', () => {
  const c = new LastString();
  const u = Buffer.from('chan.é.ü');
  assert.equal(c.get(u, 0, u.length), 'chan.é.ü');
  assert.equal(c.get(u, 0, u.length), 'chan.é.ü');
  const long = Buffer.from('a.'.repeat(300) + 'z');
  const long2 = Buffer.from('a.'.repeat(300) + 'y');
  assert.equal(c.get(long, 0, long.length), 'a.'.repeat(300) + 'z');
  assert.equal(c.get(long2, 0, long2.length), 'a.'.repeat(300) + 'y');
  // Growing the cached copy past its first size keeps the bytes right.
  const mid = Buffer.from('m'.repeat(100));
  const mid2 = Buffer.from('m'.repeat(99) + 'n');
  assert.equal(c.get(mid, 0, 100), 'm'.repeat(100));
  assert.equal(c.get(mid2, 0, 100), 'm'.repeat(99) + 'n');
});

test('the parser hands out each PUB subject and reply as written, repeated or changed', () => {
  const seen: Array<[string, string | undefined]> = [];
  const h: ParserHandler = {
    onConnect: () => undefined,
    onPing: () => undefined,
    onPong: () => undefined,
    onPub: (subject, reply) => void seen.push([subject, reply]),
    onHpub: () => undefined,
    onSub: () => undefined,
    onUnsub: () => undefined,
    onClientError: () => undefined,
    onProtocolError: (e) => assert.fail(e.message),
  };
  const p = new ProtocolParser(h, { maxControlLine: 4096, maxPayload: 1024 });
  const ops = ['PUB a.b r.1 1', 'PUB a.b r.1 1', 'PUB a.c r.1 1', 'PUB a.c 1', 'PUB a.c r.2 1', 'PUB a.c r.2 1'];
  const text = ops.map((l) => `${l}\r\nx\r\n`).join('');
  // One byte at a time: every line is assembled from split chunks.
  for (const ch of Buffer.from(text)) p.parse(Buffer.from([ch]));
  p.parse(Buffer.from(text));
  const want: Array<[string, string | undefined]> = [
    ['a.b', 'r.1'],
    ['a.b', 'r.1'],
    ['a.c', 'r.1'],
    ['a.c', undefined],
    ['a.c', 'r.2'],
    ['a.c', 'r.2'],
  ];
  assert.deepEqual(seen, [...want, ...want]);
});

/** A parser handler recording each PUB as `subject|reply|payload` and each protocol error. */
function recordingHandler(out: string[]): ParserHandler {
  return {
    onConnect: () => undefined,
    onPing: () => undefined,
    onPong: () => undefined,
    onPub: (subject, reply, buf, start, end) => void out.push(`${subject}|${reply ?? '-'}|${buf.toString('utf8', start, end)}`),
    onHpub: () => undefined,
    onSub: () => undefined,
    onUnsub: () => undefined,
    onClientError: () => undefined,
    onProtocolError: (e) => void out.push(`error: ${e.message}`),
  };
}

test('PUBs repeating the last subject/reply: every variant parses as the general path does', () => {
  const run = (lines: string[]): string[] => {
    const out: string[] = [];
    const h = recordingHandler(out);
    const p = new ProtocolParser(h, { maxControlLine: 4096, maxPayload: 8 });
    p.parse(Buffer.from(lines.join('')));
    return out;
  };
  const prime = 'PUB s.a r.1 2\r\nab\r\n';
  assert.deepEqual(run([prime, 'PUB s.a r.1 3\r\nabc\r\n', 'PUB s.a 1\r\nx\r\n', 'PUB s.a 12 1\r\ny\r\n', 'PUB s.a r.1  2 \r\nzz\r\n', 'PUB s.ab r.1 1\r\nq\r\n']), [
    's.a|r.1|ab',
    's.a|r.1|abc',
    's.a|-|x',
    's.a|12|y',
    's.a|r.1|zz',
    's.ab|r.1|q',
  ]);
  // A reply that is a prefix of the last one, a longer one: decoded, not taken from the cache.
  assert.deepEqual(run([prime, 'PUB s.a r. 1\r\nx\r\n', 'PUB s.a r.12 1\r\ny\r\n']), ['s.a|r.1|ab', 's.a|r.|x', 's.a|r.12|y']);
  // Long subject and reply (compared four bytes at a time, then the tail): a difference in
  // every byte position of the first word, of a middle word and of the tail is seen.
  const subj = '_STAN.pub.abcdefgh.foo'; // 22 bytes: 5 words and a 2-byte tail
  const rep = '_STAN.acks.0123456789'; // 21 bytes: 5 words and a 1-byte tail
  const longPrime = `PUB ${subj} ${rep} 1\r\nx\r\n`;
  const variants: string[] = [];
  for (const k of [0, 1, 2, 3, 9, 13, 20, 21]) variants.push(`${subj.slice(0, k)}#${subj.slice(k + 1)}|${rep}`);
  for (const k of [0, 3, 10, 17, 19, 20]) variants.push(`${subj}|${rep.slice(0, k)}#${rep.slice(k + 1)}`);
  for (const v of variants) {
    const [sv, rv] = v.split('|');
    assert.deepEqual(run([longPrime, `PUB ${sv} ${rv} 1\r\ny\r\n`, longPrime]), [`${subj}|${rep}|x`, `${sv}|${rv}|y`, `${subj}|${rep}|x`], v);
  }
  // The repeated line at every alignment in the chunk (a PING with 0-3 ignored bytes before it).
  for (let pad = 0; pad < 4; pad++) {
    const out = run([longPrime, `PING${'x'.repeat(pad)}\r\n`, `PUB ${subj} ${rep} 1\r\nz\r\n`, `PUB ${subj} ${rep.slice(0, -1)}# 1\r\nw\r\n`]);
    assert.deepEqual(out, [`${subj}|${rep}|x`, `${subj}|${rep}|z`, `${subj}|${rep.slice(0, -1)}#|w`]);
  }
  // Errors stay the general path's errors.
  assert.deepEqual(run([prime, 'PUB s.a r.1 x 1\r\nz\r\n']), ['s.a|r.1|ab', 'error: processPub Parse Error: "s.a r.1 x 1"']);
  assert.deepEqual(run([prime, 'PUB s.a r.1 9\r\n123456789\r\n']), ['s.a|r.1|ab', 'error: maximum payload exceeded: 9 vs 8']);
  assert.deepEqual(run([prime, 'PUB s.a r.1 1x\r\nz\r\n']), ['s.a|r.1|ab', 'error: processPub Bad or Missing Size: "s.a r.1 1x"']);
});

test('a repeated PUB line split across two chunks at any position parses as in one chunk', () => {
  const lines = ['PUB _STAN.pub.x.foo _STAN.acks.y 3\r\nabc\r\n', 'PUB _STAN.pub.x.foo _STAN.acks.y 12\r\nabcdefghijkl\r\n', 'PUB _STAN.pub.x.foo 2\r\nhi\r\n', 'PUB _STAN.pub.x.foo _STAN.acks.y 1\r\nz\r\n'];
  const text = Buffer.from(lines.join(''));
  const parseWith = (cut: number): string[] => {
    const out: string[] = [];
    const h = recordingHandler(out);
    const p = new ProtocolParser(h, { maxControlLine: 4096, maxPayload: 64 });
    p.parse(text.subarray(0, cut));
    p.parse(text.subarray(cut));
    return out;
  };
  const whole = parseWith(text.length);
  assert.deepEqual(whole, ['_STAN.pub.x.foo|_STAN.acks.y|abc', '_STAN.pub.x.foo|_STAN.acks.y|abcdefghijkl', '_STAN.pub.x.foo|-|hi', '_STAN.pub.x.foo|_STAN.acks.y|z']);
  for (let cut = 1; cut < text.length; cut++) assert.deepEqual(parseWith(cut), whole, `cut at ${cut}`);
});
