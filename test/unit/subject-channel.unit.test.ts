/**
 * The one channel-name rule (src/subject/channel.ts). Before it, four copies disagreed on
 * whitespace, '/', and partial-wildcard tokens; each case below was decided differently by
 * at least one of them and is now decided once, by the spec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLiteralChannelName, isValidChannelName, isValidLiteralSubject } from '../../src/subject';
import { applyConfigDocument } from '../../src/config/configfile';
import { parseConf } from '../../src/config/natsconf';
import { defaultServerOptions, defaultStoreLimits } from '../../src/config/options';
import { validateStoreLimits } from '../../src/store/limits/limits';

const WHITESPACE = ['a b', 'a\tb', 'a\rb', 'a\nb', 'a\fb', ' a', 'a '];

test('channels: valid literal subjects', () => {
  for (const ok of ['foo', 'foo.bar', 'a.$b-c_d', 'héllo.wörld', 'FOO.bar', '_STAN.x']) {
    assert.equal(isValidChannelName(ok), true, ok);
    assert.equal(isValidChannelName(ok, true), true, ok);
  }
  for (const bad of ['', '.', '.foo', 'foo.', 'foo..bar']) {
    assert.equal(isValidChannelName(bad), false, JSON.stringify(bad));
    assert.equal(isValidChannelName(bad, true), false, JSON.stringify(bad));
  }
});

test('channels: whitespace is refused, as in NATS subjects (the store-limits copy accepted it)', () => {
  for (const bad of WHITESPACE) {
    assert.equal(isValidChannelName(bad), false, JSON.stringify(bad));
    assert.equal(isValidChannelName(bad, true), false, JSON.stringify(bad));
  }
  // Only the NATS whitespace set: other characters are legal subject bytes.
  assert.equal(isValidChannelName('a\u00a0b'), true);
});

test("channels: '/' is refused, in limits patterns too (the config-file copy accepted it)", () => {
  for (const bad of ['a/b', '/', 'foo./', 'foo.*/']) {
    assert.equal(isValidChannelName(bad), false, bad);
    assert.equal(isValidChannelName(bad, true), false, bad);
  }
});

test("channels: '*' and '>' anywhere are refused (NATS takes 'foo*' as a literal subject)", () => {
  for (const bad of ['foo*', '*bar', 'f>', 'a.b>', 'foo.*', 'foo.>', '*', '>']) {
    assert.equal(isValidChannelName(bad), false, bad);
  }
  assert.equal(isValidLiteralSubject('foo*'), true, 'still a literal NATS subject');
});

test('limits patterns: whole-token wildcards, `>` last only', () => {
  for (const ok of ['foo.*', 'foo.>', '>', '*', '*.bar', 'a.*.c', '*.>', '*.*']) {
    assert.equal(isValidChannelName(ok, true), true, ok);
  }
  for (const bad of ['fo*', 'f>', 'foo.>.bar', '>.foo', 'foo.*x', 'foo.x*', '**', '>>', 'a.*>']) {
    assert.equal(isValidChannelName(bad, true), false, bad);
  }
});

test('literal names are the ones without a wildcard token', () => {
  assert.equal(isLiteralChannelName('foo.bar'), true);
  assert.equal(isLiteralChannelName('foo.*'), false);
  assert.equal(isLiteralChannelName('foo.>'), false);
});

test('every user applies the same rule: store limits and the config file', () => {
  for (const bad of ['a b', 'a/b', 'foo*']) {
    const l = defaultStoreLimits();
    l.perChannel = { [bad]: {} };
    assert.throws(() => validateStoreLimits(l), { message: `invalid channel name ${JSON.stringify(bad)}` }, bad);
    const doc = parseConf(`store_limits { channels { ${JSON.stringify(bad)}: { max_msgs: 1 } } }`, { file: 'x.conf' });
    assert.throws(
      () => applyConfigDocument(doc, defaultServerOptions(), { streaming: true, nats: true }, []),
      { message: `x.conf:1:27: invalid channel name ${JSON.stringify(bad)}` },
      bad,
    );
  }
});
