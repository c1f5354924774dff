import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultStoreLimits, type StoreLimits, type ChannelLimits } from '../../src/config/options';
import {
  formatLimitsTable,
  resolveChannelLimits,
  validateStoreLimits,
} from '../../src/store/limits/limits';
import { formatFriendlyBytes, formatGoDuration } from '../../src/store/format';
import { isValidChannelName } from '../../src/subject';

const H = 3_600_000;

/** The README example ("Store Limits"), as the config loader produces it (file 0 -> -1). */
function readmeLimits(): StoreLimits {
  const l = defaultStoreLimits();
  l.maxChannels = 10;
  l.maxMsgs = 10000;
  l.maxBytes = 10 * 1024 * 1024;
  l.maxAge = H;
  l.perChannel = {
    foo: { maxMsgs: 300, maxSubscriptions: 50 },
    bar: { maxMsgs: 50, maxBytes: 1024 },
    baz: { maxMsgs: -1, maxBytes: 1024 * 1024, maxAge: 2 * H },
    bozo: {},
    'foo.>': { maxMsgs: 400 },
    'foo.bar.>': { maxAge: 2 * H },
    'temp.>': { maxInactivity: H },
  };
  return l;
}

function cl(maxSubscriptions: number, maxMsgs: number, maxBytes: number, maxAge: number, maxInactivity: number): ChannelLimits {
  return { maxSubscriptions, maxMsgs, maxBytes, maxAge, maxInactivity };
}

test('validate: defaults are valid', () => {
  validateStoreLimits(defaultStoreLimits());
});

test('validate: negative globals are rejected with the reference messages', () => {
  const cases: Array<[keyof StoreLimits, number, string]> = [
    ['maxChannels', -5, 'max channels limit cannot be negative (-5)'],
    ['maxSubscriptions', -1, 'max subscriptions limit cannot be negative (-1)'],
    ['maxMsgs', -5, 'max messages limit cannot be negative (-5)'],
    ['maxBytes', -10, 'max bytes limit cannot be negative (-10)'],
    ['maxAge', -5000, 'max age limit cannot be negative (-5s)'],
    ['maxInactivity', -60000, 'max inactivity limit cannot be negative (-1m0s)'],
  ];
  for (const [key, value, msg] of cases) {
    const l = defaultStoreLimits();
    (l as unknown as Record<string, number>)[key] = value;
    assert.throws(() => validateStoreLimits(l), { message: msg }, key);
  }
});

test('validate: invalid per-channel names name the entry; wildcards allowed', () => {
  for (const bad of ['foo..bar', '.foo', 'foo.', 'foo*', 'foo.>.bar', 'a/b', '', 'f>']) {
    const l = defaultStoreLimits();
    l.perChannel = { [bad]: { maxMsgs: 1 } };
    assert.throws(() => validateStoreLimits(l), { message: `invalid channel name ${JSON.stringify(bad)}` }, bad);
  }
  const ok = defaultStoreLimits();
  ok.perChannel = { '>': {}, '*': {}, 'foo.*.bar': {}, 'foo.>': {}, '*.>': {} };
  validateStoreLimits(ok);
  assert.equal(isValidChannelName('foo.*', false), false);
  assert.equal(isValidChannelName('foo.bar', false), true);
});

test('validate: literal entries above max_channels are rejected; wildcards do not count', () => {
  const l = defaultStoreLimits();
  l.maxChannels = 2;
  l.perChannel = { a: {}, 'b.>': {}, '*': {}, c: {} };
  validateStoreLimits(l); // 2 literals
  l.perChannel.d = {};
  assert.throws(() => validateStoreLimits(l), {
    message: 'too many channels defined (3). The max channels limit is set to 2',
  });
  l.maxChannels = 0; // unlimited
  validateStoreLimits(l);
});

test('resolve: README example inheritance table', () => {
  const l = readmeLimits();
  const table: Array<[string, ChannelLimits]> = [
    // Channels without a matching entry get the globals.
    ['other', cl(1000, 10000, 10485760, H, 0)],
    ['foo', cl(50, 300, 10485760, H, 0)],
    ['bar', cl(1000, 50, 1024, H, 0)],
    // max_msgs 0 in the file = unlimited, not "inherit".
    ['baz', cl(1000, 0, 1048576, 2 * H, 0)],
    ['bozo', cl(1000, 10000, 10485760, H, 0)],
    ['foo.x', cl(1000, 400, 10485760, H, 0)],
    ['foo.x.y', cl(1000, 400, 10485760, H, 0)],
    // foo.bar.> inherits max_msgs 400 from foo.>, overrides max_age.
    ['foo.bar.x', cl(1000, 400, 10485760, 2 * H, 0)],
    ['foo.bar', cl(1000, 400, 10485760, H, 0)],
    ['temp.a', cl(1000, 10000, 10485760, H, H)],
    ['temp', cl(1000, 10000, 10485760, H, 0)],
  ];
  for (const [ch, want] of table) assert.deepEqual(resolveChannelLimits(l, ch), want, ch);
});

test('resolve: a top-level `>` entry is the parent of every other entry', () => {
  const l = readmeLimits();
  delete l.perChannel['foo.bar.>'];
  l.perChannel['>'] = { maxAge: 2 * H };
  // foo.x -> foo.> (400) which inherits max_age 2h from `>`.
  assert.deepEqual(resolveChannelLimits(l, 'foo.x'), cl(1000, 400, 10485760, 2 * H, 0));
  // Literal entries inherit from `>` too.
  assert.deepEqual(resolveChannelLimits(l, 'bozo'), cl(1000, 10000, 10485760, 2 * H, 0));
  assert.deepEqual(resolveChannelLimits(l, 'foo'), cl(50, 300, 10485760, 2 * H, 0));
  assert.deepEqual(resolveChannelLimits(l, 'anything'), cl(1000, 10000, 10485760, 2 * H, 0));
});

test('resolve: specificity literal > * > > and first token decides', () => {
  const l = defaultStoreLimits();
  l.perChannel = {
    '>': { maxMsgs: 1 },
    'a.>': { maxMsgs: 2 },
    'a.*': { maxMsgs: 3 },
    'a.b': { maxMsgs: 4 },
    '*.b': { maxMsgs: 5 },
    '*.*.c': { maxMsgs: 6 },
    'a.*.>': { maxSubscriptions: 7 },
  };
  assert.equal(resolveChannelLimits(l, 'a.b').maxMsgs, 4);
  assert.equal(resolveChannelLimits(l, 'a.c').maxMsgs, 3);
  assert.equal(resolveChannelLimits(l, 'z.b').maxMsgs, 5);
  assert.equal(resolveChannelLimits(l, 'a.b.c.d').maxMsgs, 2);
  // a.*.> beats *.*.c for a.x.c (a is narrower than *); inherits max_msgs 2 from a.>.
  assert.deepEqual(resolveChannelLimits(l, 'a.x.c'), { ...cl(7, 2, l.maxBytes, 0, 0) });
  assert.equal(resolveChannelLimits(l, 'z.x.c').maxMsgs, 6);
  assert.equal(resolveChannelLimits(l, 'zz').maxMsgs, 1);
});

test('resolve: explicit unlimited (-1) beats a limited parent; 0 inherits', () => {
  const l = defaultStoreLimits();
  l.maxAge = H;
  l.perChannel = { 'x.>': { maxMsgs: -1, maxAge: 0 }, 'x.y': { maxBytes: -1 } };
  assert.deepEqual(resolveChannelLimits(l, 'x.y'), cl(1000, 0, 0, H, 0));
  assert.deepEqual(resolveChannelLimits(l, 'x.z'), cl(1000, 0, l.maxBytes, H, 0));
});

test('resolve: results are copies (callers cannot corrupt the cache)', () => {
  const l = readmeLimits();
  const a = resolveChannelLimits(l, 'foo');
  a.maxMsgs = 1;
  assert.equal(resolveChannelLimits(l, 'foo').maxMsgs, 300);
});

test('format: Go durations and friendly bytes', () => {
  assert.equal(formatGoDuration(H), '1h0m0s');
  assert.equal(formatGoDuration(2 * H), '2h0m0s');
  assert.equal(formatGoDuration(90_000), '1m30s');
  assert.equal(formatGoDuration(1500), '1.5s');
  assert.equal(formatGoDuration(500), '500ms');
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(24 * H + 1), '24h0m0.001s');
  assert.equal(formatFriendlyBytes(1_000_000 * 1024), '976.56 MB');
  assert.equal(formatFriendlyBytes(10 * 1024 * 1024), '10.00 MB');
  assert.equal(formatFriendlyBytes(1024 * 1024), '1.00 MB');
  assert.equal(formatFriendlyBytes(1024), '1.00 KB');
  assert.equal(formatFriendlyBytes(512), '512 B');
  // Go's %.2f rounds exact ties to even: 1.125 -> 1.12, 1.375 -> 1.38.
  assert.equal(formatFriendlyBytes(1152), '1.12 KB');
  assert.equal(formatFriendlyBytes(1408), '1.38 KB');
});

test('table: defaults (golden)', () => {
  assert.deepEqual(formatLimitsTable(defaultStoreLimits(), new Set()), [
    '---------- Store Limits ----------',
    'Channels:                  100 *',
    '--------- Channels Limits --------',
    '  Subscriptions:          1000 *',
    '  Messages     :       1000000 *',
    '  Bytes        :     976.56 MB *',
    '  Age          :     unlimited *',
    '  Inactivity   :     unlimited *',
    '----------------------------------',
  ]);
});

test('table: README example (golden)', () => {
  const explicit = new Set(['max_channels', 'max_msgs', 'max_bytes', 'max_age']);
  assert.deepEqual(formatLimitsTable(readmeLimits(), explicit), [
    '---------- Store Limits ----------',
    'Channels:                   10',
    '--------- Channels Limits --------',
    '  Subscriptions:          1000 *',
    '  Messages     :         10000',
    '  Bytes        :      10.00 MB',
    '  Age          :        1h0m0s',
    '  Inactivity   :     unlimited *',
    '-------- List of Channels ---------',
    'bar',
    ' |-> Messages                    50',
    ' |-> Bytes                  1.00 KB',
    'baz',
    ' |-> Messages             unlimited',
    ' |-> Bytes                  1.00 MB',
    ' |-> Age                     2h0m0s',
    'bozo',
    'foo',
    ' |-> Subscriptions               50',
    ' |-> Messages                   300',
    'foo.>',
    ' |-> Messages                   400',
    ' foo.bar.>',
    '  |-> Age                    2h0m0s',
    'temp.>',
    ' |-> Inactivity              1h0m0s',
    '-----------------------------------',
  ]);
});

test('table: `>` entry nests the others and a long name widens the frame', () => {
  const l = defaultStoreLimits();
  l.perChannel = { '>': { maxAge: 2 * H }, 'a.very.long.channel.name.for.the.frame': { maxMsgs: 5 } };
  const lines = formatLimitsTable(l, new Set());
  const name = ' a.very.long.channel.name.for.the.frame';
  assert.ok(lines.includes('>'));
  assert.ok(lines.includes(name));
  // 8 levels (tokens): depth 1 -> 1 space left, 7 right.
  assert.ok(lines.includes(' ' + ' |-> Messages      ' + ' '.repeat(7) + '            5'));
  const width = lines.reduce((m, s) => Math.max(m, s.length), 0);
  assert.equal(lines[lines.length - 1], '-'.repeat(width));
  const title = lines.find((s) => s.includes(' List of Channels '));
  assert.equal(title?.length, width);
});
