import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultServerOptions } from '../../src/config/options';
import { CtrlMsgCodec, CtrlMsgType } from '../../src/protocol/codec';
import {
  ChannelPartition,
  ClientRegistry,
  decodeChannelList,
  encodeChannelLists,
  ERR_NO_CHANNEL,
  ERR_PARTITIONING_WITH_CLUSTERING,
  firstConflict,
  subjectsIntersect,
  validatePartitioning,
} from '../../src/stan/partitioning';

test('channel list encoding: [uint16 LE length][name] repeated', () => {
  const [data] = encodeChannelLists(['foo', 'bar.*', 'é']);
  // 'é' is two UTF-8 bytes: the length counts bytes, not characters.
  assert.deepEqual(
    [...data],
    [3, 0, ...Buffer.from('foo'), 5, 0, ...Buffer.from('bar.*'), 2, 0, 0xc3, 0xa9],
  );
  assert.deepEqual(decodeChannelList(data), ['foo', 'bar.*', 'é']);
});

test('channel list encoding: a name of 256+ bytes uses both length bytes (little-endian)', () => {
  const long = 'a'.repeat(300);
  const [data] = encodeChannelLists([long]);
  assert.equal(data[0], 300 & 0xff);
  assert.equal(data[1], 300 >> 8);
  assert.deepEqual(decodeChannelList(data), [long]);
});

test('channel list encoding: long lists are split, every part decodes on its own', () => {
  const names = Array.from({ length: 50 }, (_, i) => `channel.${i}`);
  const parts = encodeChannelLists(names, 64);
  assert.ok(parts.length > 1, 'split into several messages');
  for (const p of parts) assert.ok(p.length <= 64);
  assert.deepEqual(parts.flatMap((p) => decodeChannelList(p)), names);
  assert.throws(() => encodeChannelLists(['x'.repeat(100)], 64), /does not fit/);
});

test('channel list decoding rejects truncated input', () => {
  assert.throws(() => decodeChannelList(Uint8Array.from([5])), /unable to decode size/);
  assert.throws(() => decodeChannelList(Uint8Array.from([5, 0, 0x61])), /unable to decode channel/);
  assert.deepEqual(decodeChannelList(new Uint8Array(0)), []);
});

test('a reference-format CtrlMsg carries the list in Data (field 3)', () => {
  const [data] = encodeChannelLists(['foo']);
  const bytes = CtrlMsgCodec.encode({ MsgType: CtrlMsgType.Partitioning, ServerID: 'S1', Data: data });
  // MsgType=4 (field 1 varint), ServerID (field 2), Data (field 3).
  assert.deepEqual([...bytes], [0x08, 4, 0x12, 2, ...Buffer.from('S1'), 0x1a, 5, 3, 0, ...Buffer.from('foo')]);
  const back = CtrlMsgCodec.decode(bytes);
  assert.deepEqual(decodeChannelList(back.Data), ['foo']);
});

test('overlap: literals', () => {
  assert.equal(subjectsIntersect('foo', 'foo'), true);
  assert.equal(subjectsIntersect('foo', 'bar'), false);
  assert.equal(subjectsIntersect('foo', 'foo.bar'), false);
  assert.equal(subjectsIntersect('Foo', 'foo'), false, 'case-sensitive, as NATS subjects');
});

test('overlap: a literal and a wildcard that matches it', () => {
  assert.equal(subjectsIntersect('foo.*', 'foo.bar'), true);
  assert.equal(subjectsIntersect('foo.bar', 'foo.*'), true);
  assert.equal(subjectsIntersect('foo.>', 'foo.bar.baz'), true);
  assert.equal(subjectsIntersect('foo.*', 'foo.bar.baz'), false);
  assert.equal(subjectsIntersect('foo.*', 'foo'), false);
  assert.equal(subjectsIntersect('foo.>', 'foo'), false, "'>' needs at least one token");
  assert.equal(subjectsIntersect('>', 'anything.at.all'), true);
  assert.equal(subjectsIntersect('*', 'foo'), true);
  assert.equal(subjectsIntersect('*', 'foo.bar'), false);
});

test('overlap: two wildcards whose subject spaces intersect', () => {
  assert.equal(subjectsIntersect('foo.*', '*.bar'), true, 'both match foo.bar');
  assert.equal(subjectsIntersect('foo.*', 'foo.*'), true);
  assert.equal(subjectsIntersect('foo.*', 'foo.>'), true);
  assert.equal(subjectsIntersect('foo.>', 'bar.>'), false);
  assert.equal(subjectsIntersect('foo.*.baz', 'foo.bar.*'), true);
  assert.equal(subjectsIntersect('foo.*.baz', 'foo.bar.qux'), false);
  assert.equal(subjectsIntersect('*.*', '*.*.*'), false);
  assert.equal(subjectsIntersect('*.>', 'a.b.c'), true);
  assert.equal(subjectsIntersect('a.>', '*.b'), true);
});

test('firstConflict names the first of their channels overlapping ours', () => {
  assert.equal(firstConflict(['a', 'b', 'c.*'], ['x', 'c.d']), 'c.*');
  assert.equal(firstConflict(['a', 'foo.bar'], ['foo.*']), 'foo.bar');
  assert.equal(firstConflict(['a', 'b'], ['c', 'd.>']), undefined);
});

test('ChannelPartition: owns literal channels matched by its entries', () => {
  const p = new ChannelPartition(['foo', 'bar.*', 'baz.>']);
  assert.equal(p.owns('foo'), true);
  assert.equal(p.owns('bar.x'), true);
  assert.equal(p.owns('bar'), false);
  assert.equal(p.owns('bar.x.y'), false);
  assert.equal(p.owns('baz.a.b'), true);
  assert.equal(p.owns('baz'), false);
  assert.equal(p.owns('other'), false);
  assert.equal(p.selfOverlap, false);
  const q = new ChannelPartition(['foo.*', 'foo.bar']);
  assert.equal(q.selfOverlap, true);
  assert.equal(q.firstMatch('foo.bar'), 0);
  assert.equal(q.firstMatch('foo.baz'), 0);
  assert.equal(q.firstMatch('nope'), -1);
});

test('validatePartitioning: channels required, clustering refused', () => {
  const so = defaultServerOptions().streaming;
  validatePartitioning(so); // off: nothing required
  so.partitioning = true;
  assert.throws(() => validatePartitioning(so), { message: ERR_NO_CHANNEL });
  so.storeLimits.perChannel = { foo: {} };
  validatePartitioning(so);
  so.clustering.clustered = true;
  assert.throws(() => validatePartitioning(so), { message: ERR_PARTITIONING_WITH_CLUSTERING });
});

test('ClientRegistry: a waiter is released by the registration', async () => {
  const reg = new ClientRegistry();
  const known = new Set<string>();
  const w = reg.waitFor(ClientRegistry.idKey('c1'), () => known.has('c1'), 10_000);
  known.add('c1');
  reg.registered('c1', '');
  assert.equal(await w, true);
});

test('ClientRegistry: a timed-out client is remembered as unknown until it registers', async () => {
  const reg = new ClientRegistry();
  const known = new Set<string>();
  const key = ClientRegistry.connKey('abc');
  assert.equal(await reg.waitFor(key, () => known.has('x'), 20), false);
  // Cached: the next request does not wait (a long timeout would hang this test).
  assert.equal(await reg.waitFor(key, () => known.has('x'), 60_000), false);
  known.add('x');
  reg.registered('x', 'abc');
  assert.equal(await reg.waitFor(key, () => known.has('x'), 60_000), true);
});
