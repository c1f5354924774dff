/**
 * The commit group's columns and pre-encoded PubAcks (src/stan/ack-group.ts): every publish's
 * OK PubAck decodes to its own guid, also across the buffer growing and for guids whose length
 * takes a two-byte varint; the guid text for error PubAcks; views stay valid after later adds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubAckCodec } from '../../src/protocol/codec';
import { encodeOkPubAckBytes } from '../../src/protocol/fast';
import { AckGroup } from '../../src/stan/ack-group';
import { MemoryStore } from '../../src/store/memory';
import { defaultStoreLimits } from '../../src/config/options';
import { Channel } from '../../src/stan/state';

test('each publish gets the PubAck of its own guid, across growth and long guids', () => {
  const ch = new Channel(new MemoryStore(defaultStoreLimits()).createChannel('foo'));
  const g = new AckGroup();
  const guids: string[] = [];
  for (let i = 0; i < 500; i++) {
    const guid = i % 50 === 7 ? `long-${'é'.repeat(100)}-${i}` : i === 3 ? '' : `guid-${i}`;
    guids.push(guid);
    const src = Buffer.concat([Buffer.from('prefix'), Buffer.from(guid), Buffer.from('suffix')]);
    g.add(ch, i + 1, src, 6, src.length - 6, i % 2 ? `acks.${i}` : undefined);
  }
  // A view handed out before more adds stays the same bytes (the buffer is not rewritten).
  const first = g.okPubAck(0);
  const firstCopy = Buffer.from(first);
  for (let i = 0; i < 500; i++) {
    assert.equal(PubAckCodec.decode(g.okPubAck(i)).guid, guids[i], `PubAck ${i}`);
    assert.deepEqual(g.okPubAck(i), encodeOkPubAckBytes(Buffer.from(guids[i])), `same bytes as the single encoder (${i})`);
    assert.equal(g.guid(i), guids[i]);
    assert.equal(g.seqs[i], i + 1);
    assert.equal(g.channels[i], ch);
    assert.equal(g.ackSubjects[i], i % 2 ? `acks.${i}` : undefined);
  }
  assert.equal(g.length, 500);
  assert.deepEqual(first, firstCopy);
});

test('a reopened group starts empty, keeps earlier PubAck views intact, and grows past its columns', () => {
  const a = new Channel(new MemoryStore(defaultStoreLimits()).createChannel('a'));
  const b = new Channel(new MemoryStore(defaultStoreLimits()).createChannel('b'));
  // Columns sized for 16 publishes: the first burst overflows them.
  const g = new AckGroup(0, 16);
  for (let i = 0; i < 40; i++) {
    const src = Buffer.from(`first-${i}`);
    g.add(a, i + 1, src, 0, src.length, `acks.a.${i}`);
  }
  const handedOut = [g.okPubAck(0), g.okPubAck(39)];
  const copies = handedOut.map((v) => Buffer.from(v));

  assert.equal(g.reopen(0), g);
  assert.equal(g.length, 0);
  for (let i = 0; i < 3; i++) {
    const src = Buffer.from(`second-${i}`);
    g.add(b, 100 + i, src, 0, src.length, i === 1 ? undefined : `acks.b.${i}`);
  }
  assert.equal(g.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(PubAckCodec.decode(g.okPubAck(i)).guid, `second-${i}`);
    assert.equal(g.guid(i), `second-${i}`);
    assert.equal(g.seqs[i], 100 + i);
    assert.equal(g.channels[i], b);
    assert.equal(g.ackSubjects[i], i === 1 ? undefined : `acks.b.${i}`);
  }
  // Views handed to transports before the reopen are not overwritten by the new burst.
  assert.deepEqual(handedOut, copies);
  assert.equal(PubAckCodec.decode(handedOut[1]).guid, 'first-39');
});
