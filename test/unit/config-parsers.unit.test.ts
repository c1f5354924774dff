import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes,
  formatGoDuration,
  parseGoDuration,
  parseSize,
} from '../../src/config/units';
import { parseGoFlags, parseGoInt, GoFlag } from '../../src/config/goflags';
import { parseConf, ConfParseError } from '../../src/config/natsconf';
import { FLAGS } from '../../src/config/flags';
import { USAGE } from '../../src/config/usage';
import { isChannelNameValid } from '../../src/config/configfile';

test('parseSize', () => {
  assert.equal(parseSize('1024'), 1024);
  assert.equal(parseSize('1KB'), 1024);
  assert.equal(parseSize('1kb'), 1024);
  assert.equal(parseSize('1MB'), 1048576);
  assert.equal(parseSize('1GB'), 1073741824);
  assert.equal(parseSize('1TB'), 1024 ** 4);
  assert.equal(parseSize('2K'), 2000);
  assert.equal(parseSize('1M'), 1e6);
  assert.equal(parseSize('1G'), 1e9);
  assert.equal(parseSize('1KiB'), 1024);
  assert.throws(() => parseSize('1XB'));
  assert.throws(() => parseSize('1.5MB'));
  assert.throws(() => parseSize(''));
});

test('parseGoDuration', () => {
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('20s'), 20_000);
  assert.equal(parseGoDuration('500ms'), 500);
  assert.equal(parseGoDuration('1us'), 0.001);
  assert.equal(parseGoDuration('1µs'), 0.001);
  assert.equal(parseGoDuration('100ns'), 0.0001);
  assert.equal(parseGoDuration('-1s'), -1000);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('.5s'), 500);
  assert.throws(() => parseGoDuration('1'), /missing unit in duration "1"/);
  assert.throws(() => parseGoDuration('1x'), /unknown unit "x" in duration "1x"/);
  assert.throws(() => parseGoDuration('abc'), /invalid duration "abc"/);
  assert.throws(() => parseGoDuration(''), /invalid duration ""/);
});

test('formatGoDuration', () => {
  assert.equal(formatGoDuration(3_600_000), '1h0m0s');
  assert.equal(formatGoDuration(7_200_000), '2h0m0s');
  assert.equal(formatGoDuration(63_000), '1m3s');
  assert.equal(formatGoDuration(500), '500ms');
  assert.equal(formatGoDuration(1500), '1.5s');
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(0.0015), '1.5µs');
  assert.equal(formatGoDuration(0.0001), '100ns');
  assert.equal(formatGoDuration(-1000), '-1s');
  assert.equal(formatGoDuration(90 * 24 * 3_600_000), '2160h0m0s');
});

test('formatBytes (reference FriendlyBytes)', () => {
  assert.equal(formatBytes(1_024_000_000), '976.56 MB');
  assert.equal(formatBytes(10 * 1024 * 1024), '10.00 MB');
  assert.equal(formatBytes(1024), '1.00 KB');
  assert.equal(formatBytes(1048576), '1.00 MB');
  assert.equal(formatBytes(1000), '1000 B');
  assert.equal(formatBytes(1024 ** 3), '1.00 GB');
});

test('parseGoInt (strconv.ParseInt base 0)', () => {
  assert.equal(parseGoInt('42'), 42);
  assert.equal(parseGoInt('-42'), -42);
  assert.equal(parseGoInt('0x10'), 16);
  assert.equal(parseGoInt('010'), 8);
  assert.equal(parseGoInt('0b101'), 5);
  assert.equal(parseGoInt('0x_1F'), 31);
  assert.equal(parseGoInt('abc'), 'parse error');
  assert.equal(parseGoInt('1_000'), 'parse error');
  assert.equal(parseGoInt('99999999999999999999'), 'value out of range');
});

test('goflags: Go flag package semantics', () => {
  const defs: GoFlag[] = [
    { names: ['b'], type: 'bool' },
    { names: ['s', 'str'], type: 'string' },
    { names: ['n'], type: 'int' },
  ];
  let r = parseGoFlags(['-b', 'x', '-s', 'y'], defs);
  assert.deepEqual(r.occurrences.map((o) => [o.name, o.value]), [['b', true]]);
  assert.deepEqual(r.positionals, ['x', '-s', 'y']); // a bool never consumes; first positional stops
  r = parseGoFlags(['--str=a=b', '-s', '-b', '-b=false', '-n=0x10'], defs);
  assert.deepEqual(r.occurrences.map((o) => [o.name, o.value]), [['str', 'a=b'], ['s', '-b'], ['b', false], ['n', 16]]);
  r = parseGoFlags(['-b', '--', '-n', '1'], defs);
  assert.deepEqual(r.positionals, ['-n', '1']);
  r = parseGoFlags(['-', '-b'], defs);
  assert.deepEqual(r.positionals, ['-', '-b']);
  assert.throws(() => parseGoFlags(['-x'], defs), /^FlagError: flag provided but not defined: -x$/);
  assert.throws(() => parseGoFlags(['--n'], defs), /flag needs an argument: -n/);
  assert.throws(() => parseGoFlags(['-n', 'z'], defs), /invalid value "z" for flag -n: parse error/);
  assert.throws(() => parseGoFlags(['-b=yes'], defs), /invalid boolean value "yes" for -b: parse error/);
  assert.throws(() => parseGoFlags(['-=x'], defs), /bad flag syntax: -=x/);
});

test('natsconf: syntax forms', () => {
  const d = parseConf(
    [
      'a: 1',
      'b = "two"',
      'c 3',
      "d: 'raw\\n'",
      'e { x: 1, y = 2; z 3 }',
      'f: { }',
      'g = [1, "2", three',
      '  four]',
      'h: yes, i: off',
      'j: 10KB; k: 1G',
      'l: 1.5',
      'm: 127.0.0.1:4222',
      'n: nats://host:4222 // comment',
      '# comment',
      'o: "esc\\t\\"q\\" \\x41"',
      'CaseKey: true',
      'p: -12',
      'q: 2020-01-01T00:00:00Z',
    ].join('\n'),
  );
  assert.deepEqual(d.root, {
    a: 1,
    b: 'two',
    c: 3,
    d: 'raw\\n',
    e: { x: 1, y: 2, z: 3 },
    f: {},
    g: [1, '2', 'three', 'four'],
    h: true,
    i: false,
    j: 10240,
    k: 1e9,
    l: 1.5,
    m: '127.0.0.1:4222',
    n: 'nats://host:4222',
    o: 'esc\t"q" A',
    CaseKey: true,
    p: -12,
    q: '2020-01-01T00:00:00Z',
  });
  assert.deepEqual(d.pos(d.root, 'c'), { file: '<input>', line: 3, col: 1 });
});

test('natsconf: variables', () => {
  const d = parseConf('v: 5\nm { w: $v, x: $ENVVAR, y: $ENVNUM }\n', { env: { ENVVAR: 'hello', ENVNUM: '2MB' } });
  assert.deepEqual(d.root['m'], { w: 5, x: 'hello', y: 2 * 1024 * 1024 });
  assert.equal(d.isUsedVariable(d.root, 'v'), true);
  assert.throws(() => parseConf('a: $NOPE\n', { env: {} }), /<input>:1:4: variable reference for "NOPE" can not be found/);
});

test('natsconf: errors carry file:line:col', () => {
  const cases: [string, RegExp][] = [
    ['a: 1\nb: {\n', /x\.conf:3:1: unexpected EOF: missing '\}'/],
    ['a: 1 2\n', /x\.conf:1:6: expected a top-level value to end/],
    ['a: [1, 2\n', /x\.conf:1:4: unexpected EOF: missing '\]'/],
    ['a: "open\n', /x\.conf:1:4: unterminated double-quoted string/],
    ['a: 1h\n', /x\.conf:1:4: invalid value 1h: durations must be quoted/],
    ['a: 1XB\n', /x\.conf:1:4: invalid number "1XB"/],
    ['a: "\\q"\n', /x\.conf:1:5: invalid escape character 'q'/],
    ['}\n', /x\.conf:1:1: unexpected '\}'/],
    ['a:\n', /x\.conf:1:3: expected a value for key "a" but found a new line/],
  ];
  for (const [src, re] of cases) {
    assert.throws(() => parseConf(src, { file: 'x.conf' }), (e: unknown) => e instanceof ConfParseError && re.test(e.message), src);
  }
});

test('isChannelNameValid', () => {
  for (const ok of ['foo', 'foo.bar', 'foo.*', 'foo.>', '>', '*.bar', 'a.*.c']) assert.equal(isChannelNameValid(ok, true), true, ok);
  for (const bad of ['', '.foo', 'foo.', 'foo..bar', 'foo.>.bar', 'fo*', 'f>', 'a b']) assert.equal(isChannelNameValid(bad, true), false, bad);
  assert.equal(isChannelNameValid('foo.*', false), false);
});

test('every flag of the usage text is defined, and every defined flag is documented', () => {
  const defined = new Set(FLAGS.flatMap((f) => f.names));
  const documented = new Set<string>();
  for (const m of USAGE.matchAll(/(?:^|[\s,])--?([A-Za-z][A-Za-z0-9_]*)/gm)) documented.add(m[1] as string);
  for (const name of documented) assert.ok(defined.has(name), `usage documents undefined flag -${name}`);
  for (const f of FLAGS) {
    assert.ok(f.names.some((n) => documented.has(n)), `flag ${f.names.join('/')} is not in the usage text`);
  }
});
