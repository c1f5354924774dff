import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ProtocolParser, ProtocolError, type ParserHandler } from '../../src/nats/embedded/parser';

class Recorder implements ParserHandler {
  events: string[] = [];
  payloads: Buffer[] = [];
  /** The buffer and start offset each payload was handed over as. */
  sources: Array<[Buffer, number]> = [];
  error: ProtocolError | null = null;
  onConnect(json: string): void {
    this.events.push(`CONNECT ${json}`);
  }
  onPing(): void {
    this.events.push('PING');
  }
  onPong(): void {
    this.events.push('PONG');
  }
  onPub(subject: string, reply: string | undefined, buf: Buffer, start: number, end: number): void {
    const payload = buf.subarray(start, end);
    this.sources.push([buf, start]);
    this.payloads.push(payload);
    this.events.push(`PUB ${subject} ${reply ?? '-'} [${payload.toString('latin1')}]`);
  }
  onHpub(subject: string, reply: string | undefined, hdrLen: number, buf: Buffer, start: number, end: number): void {
    const payload = buf.subarray(start, end);
    this.sources.push([buf, start]);
    this.payloads.push(payload);
    this.events.push(`HPUB ${subject} ${reply ?? '-'} ${hdrLen} [${payload.toString('latin1')}]`);
  }
  onSub(subject: string, queue: string | undefined, sid: string): void {
    this.events.push(`SUB ${subject} ${queue ?? '-'} ${sid}`);
  }
  onUnsub(sid: string, max: number | undefined): void {
    this.events.push(`UNSUB ${sid} ${max ?? '-'}`);
  }
  onClientError(text: string): void {
    this.events.push(`-ERR ${text}`);
  }
  onProtocolError(err: ProtocolError): void {
    this.error = err;
  }
}

const LIMITS = { maxControlLine: 4096, maxPayload: 1024 };

function parser(limits = LIMITS): [ProtocolParser, Recorder] {
  const r = new Recorder();
  const p = new ProtocolParser(r, limits);
  p.headers = true;
  return [p, r];
}

const MIXED =
  'CONNECT {"verbose":false, "x":1}\r\n' +
  'PING\r\n' +
  'pub foo 5\r\nhello\r\n' +
  'PUB foo bar 0\r\n\r\n' +
  'HPUB h.x r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n' +
  'SUB a.* q 1\r\n' +
  'sub\tb.>\t2\r\n' +
  'UNSUB 1 5\r\n' +
  'unsub 2\n' +
  'PONG\r\n' +
  '+OK\r\n' +
  'PUB  x   2 \r\n\r\n\r\n' +
  'Ping\r\n' +
  'PUB big 10\r\n0123456789\r\n';

const EXPECTED = [
  'CONNECT {"verbose":false, "x":1}',
  'PING',
  'PUB foo - [hello]',
  'PUB foo bar []',
  'HPUB h.x r 12 [NATS/1.0\r\n\r\nhi]',
  'SUB a.* q 1',
  'SUB b.> - 2',
  'UNSUB 1 5',
  'UNSUB 2 -',
  'PONG',
  'PUB x - [\r\n]',
  'PING',
  'PUB big - [0123456789]',
];

test('parses a mixed stream in one chunk', () => {
  const [p, r] = parser();
  p.parse(Buffer.from(MIXED, 'latin1'));
  assert.equal(r.error, null);
  assert.deepEqual(r.events, EXPECTED);
});

test('split into two chunks at every byte position gives the same ops', () => {
  const all = Buffer.from(MIXED, 'latin1');
  for (let i = 0; i <= all.length; i++) {
    const [p, r] = parser();
    p.parse(Buffer.from(all.subarray(0, i)));
    p.parse(Buffer.from(all.subarray(i)));
    assert.equal(r.error, null, `split at ${i}: ${r.error?.message}`);
    assert.deepEqual(r.events, EXPECTED, `split at ${i}`);
  }
});

test('split into three chunks at many position pairs', () => {
  const all = Buffer.from(MIXED, 'latin1');
  for (let i = 0; i < all.length; i += 3) {
    for (let j = i; j <= all.length; j += 5) {
      const [p, r] = parser();
      p.parse(Buffer.from(all.subarray(0, i)));
      p.parse(Buffer.from(all.subarray(i, j)));
      p.parse(Buffer.from(all.subarray(j)));
      assert.deepEqual(r.events, EXPECTED, `split at ${i},${j}`);
    }
  }
});

test('one byte at a time', () => {
  const all = Buffer.from(MIXED, 'latin1');
  const [p, r] = parser();
  for (let i = 0; i < all.length; i++) p.parse(all.subarray(i, i + 1));
  assert.deepEqual(r.events, EXPECTED);
});

test('payload inside one chunk is handed over as a range of the chunk (no copy)', () => {
  const [p, r] = parser();
  const chunk = Buffer.from('PUB foo 5\r\nhello\r\nPUB foo 2\r\nhi\r\n');
  p.parse(chunk);
  assert.equal(r.payloads.length, 2);
  assert.equal(r.sources[0][0], chunk);
  assert.equal(r.sources[0][1], 11);
  assert.equal(r.sources[1][0], chunk);
  assert.equal(r.sources[1][1], 29);
  assert.deepEqual(r.payloads.map((b) => b.toString()), ['hello', 'hi']);
});

test('a payload split across chunks is assembled into a buffer of its own, at offset 0', () => {
  const [p, r] = parser();
  p.parse(Buffer.from('PUB foo 5\r\nhel'));
  p.parse(Buffer.from('lo\r\n'));
  assert.equal(r.sources.length, 1);
  assert.equal(r.sources[0][1], 0);
  assert.equal(r.sources[0][0].length, 5);
  assert.equal(r.payloads[0].toString(), 'hello');
});

test('verbs are case-insensitive and arguments split on tabs and spaces', () => {
  const [p, r] = parser();
  p.parse(Buffer.from('PiNg\r\npOnG\r\nSuB\t \tfoo \t bar\t3  \r\nuNsUb 3\r\nhPuB s 0 0\r\n\r\ncOnNeCt {}\r\n'));
  assert.equal(r.error, null);
  assert.deepEqual(r.events, ['PING', 'PONG', 'SUB foo bar 3', 'UNSUB 3 -', 'HPUB s - 0 []', 'CONNECT {}']);
});

test('-ERR from the client is reported', () => {
  const [p, r] = parser();
  p.parse(Buffer.from("-ERR 'boom'\r\n"));
  assert.deepEqual(r.events, ["-ERR 'boom'"]);
});

function expectError(input: string, errText: string | undefined, limits = LIMITS, headers = true): Recorder {
  const r = new Recorder();
  const p = new ProtocolParser(r, limits);
  p.headers = headers;
  p.parse(Buffer.from(input, 'latin1'));
  assert.ok(r.error !== null, `expected an error for ${JSON.stringify(input)}`);
  assert.equal(r.error.errText, errText, `errText for ${JSON.stringify(input)}`);
  assert.ok(p.stopped);
  return r;
}

test('unknown verbs and bad framing are Unknown Protocol Operation', () => {
  expectError('FOO bar\r\n', 'Unknown Protocol Operation');
  expectError('PUX foo 1\r\n', 'Unknown Protocol Operation');
  expectError('\r\n', 'Unknown Protocol Operation');
  expectError('UNSUB\r\n', 'Unknown Protocol Operation');
  expectError('UNSUB   \r\n', 'Unknown Protocol Operation');
  expectError('PUB\r\n', 'Unknown Protocol Operation');
  expectError('RS+ foo\r\n', 'Unknown Protocol Operation');
  expectError('MSG foo 1 1\r\n', 'Unknown Protocol Operation');
  // Payload longer than announced: the bytes after it are not CRLF.
  expectError('PUB foo 2\r\nabc\r\n', 'Unknown Protocol Operation');
});

test('garbage is rejected before its newline arrives', () => {
  expectError('XYZ', 'Unknown Protocol Operation');
  expectError('PUBX', 'Unknown Protocol Operation');
  const r = new Recorder();
  const p = new ProtocolParser(r, LIMITS);
  p.parse(Buffer.from('PU'));
  p.parse(Buffer.from('B fo'));
  assert.equal(r.error, null);
});

test('the ops stop after an error', () => {
  const r = expectError('PING\r\nBAD\r\nPING\r\n', 'Unknown Protocol Operation');
  assert.deepEqual(r.events, ['PING']);
});

test('maximum control line', () => {
  const long = 'a'.repeat(200);
  expectError(`SUB ${long} 1\r\n`, 'maximum control line exceeded', { maxControlLine: 100, maxPayload: 1024 });
  // Also when the line never ends.
  expectError(`SUB ${long}`, 'maximum control line exceeded', { maxControlLine: 100, maxPayload: 1024 });
  // Exactly at the limit is fine.
  const r = new Recorder();
  const p = new ProtocolParser(r, { maxControlLine: 10, maxPayload: 1024 });
  p.parse(Buffer.from('SUB abcdef 1\r\n'));
  assert.equal(r.error, null);
  assert.deepEqual(r.events, ['SUB abcdef - 1']);
});

test('maximum payload is checked on the control line, before the payload', () => {
  const r = expectError('PUB foo 1025\r\n', 'Maximum Payload Violation');
  assert.match(r.error!.message, /maximum payload exceeded: 1025 vs 1024/);
  expectError('HPUB foo 12 1025\r\n', 'Maximum Payload Violation');
  const [p, ok] = parser();
  p.parse(Buffer.from(`PUB foo 1024\r\n${'x'.repeat(1024)}\r\n`));
  assert.equal(ok.error, null);
  assert.equal(ok.payloads[0].length, 1024);
});

test('bad sizes and argument counts close without -ERR', () => {
  expectError('PUB foo abc\r\n', undefined);
  expectError('PUB foo -1\r\n', undefined);
  expectError('PUB foo\r\n', undefined);
  expectError('PUB a b c d\r\n', undefined);
  expectError('SUB foo\r\n', undefined);
  expectError('SUB a b c d\r\n', undefined);
  expectError('UNSUB 1 2 3\r\n', undefined);
  expectError('UNSUB 1 x\r\n', undefined);
  expectError('HPUB foo 5\r\n', undefined);
  expectError('HPUB foo 20 10\r\n', undefined); // header size > total
  expectError('HPUB foo x 10\r\n', undefined);
});

test('HPUB is refused when the connection did not enable headers', () => {
  const r = expectError('HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n', undefined, LIMITS, false);
  assert.match(r.error!.message, /headers not supported/);
});

test('HPUB sizes: header length and total length split the payload', () => {
  const [p, r] = parser();
  const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
  p.parse(Buffer.from(`HPUB s reply ${hdr.length} ${hdr.length + 3}\r\n${hdr}abc\r\n`));
  assert.equal(r.error, null);
  assert.deepEqual(r.events, [`HPUB s reply ${hdr.length} [${hdr}abc]`]);
});

test('split inside the CRLF after a payload', () => {
  const [p, r] = parser();
  p.parse(Buffer.from('PUB foo 3\r\nabc\r'));
  assert.deepEqual(r.events, []);
  p.parse(Buffer.from('\nPING\r\n'));
  assert.deepEqual(r.events, ['PUB foo - [abc]', 'PING']);
});

test('UTF-8 subjects survive a chunk split inside a multi-byte character', () => {
  const all = Buffer.from('SUB héllo.wörld 1\r\n', 'utf8');
  for (let i = 0; i <= all.length; i++) {
    const [p, r] = parser();
    p.parse(all.subarray(0, i));
    p.parse(all.subarray(i));
    assert.deepEqual(r.events, ['SUB héllo.wörld - 1']);
  }
});

test('a parsed chunk is not kept by the parser once parse() returns (an idle connection holds no socket chunk)', async () => {
  v8.setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  let sum = 0;
  const handler: ParserHandler = {
    onConnect: () => undefined,
    onPing: () => undefined,
    onPong: () => undefined,
    // Reads the payload, keeps nothing.
    onPub: (_s, _r, buf, start, end) => void (sum += end - start + buf[start]),
    onHpub: () => undefined,
    onSub: () => undefined,
    onUnsub: () => undefined,
    onClientError: () => undefined,
    onProtocolError: () => undefined,
  };
  const p = new ProtocolParser(handler, LIMITS);
  const refs: Array<WeakRef<Buffer>> = [];
  // A chunk whose payloads lie in it whole, the second PUB line a repeat of the first (the
  // fast path that reads the line through a view of the chunk).
  (() => {
    const chunk = Buffer.from('PUB a.b _INBOX.x 3\r\nabc\r\nPUB a.b _INBOX.x 3\r\ndef\r\n');
    refs.push(new WeakRef(chunk));
    p.parse(chunk);
  })();
  // No deref() before the collections: it would keep the chunk alive to the end of the job.
  for (let i = 0; i < 5; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(sum, 6 + 'a'.charCodeAt(0) + 'd'.charCodeAt(0));
  assert.equal(refs[0].deref(), undefined, 'the parser still holds the chunk after parse()');
});
