/** The ack inboxes' NATS side (src/stan/ack-inboxes.ts): one subject group per channel, or a subscription per inbox. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultNatsServerOptions, defaultStoreLimits } from '../../src/config/options';
import { silentLogger } from '../../src/logging/logger';
import { connectInProcess, EmbeddedNatsServer } from '../../src/nats/embedded';
import type { SubState } from '../../src/protocol/codec';
import { AckInboxes } from '../../src/stan/ack-inboxes';
import { Channel, Subscription } from '../../src/stan/state';
import { MemoryStore } from '../../src/store/memory';
import { FakeClock, settle } from '../helpers/fake-clock';
import { MemoryTransport } from '../helpers/memory-transport';

function subState(id: number, ackInbox: string): SubState {
  return { ID: id, clientID: 'c', qGroup: '', inbox: `_INBOX.in${id}`, ackInbox, maxInFlight: 10, ackWaitInSecs: 30, durableName: '', lastSent: 0, isDurable: false, isClosed: false };
}

function channels(): { a: Channel; b: Channel } {
  const store = new MemoryStore(defaultStoreLimits());
  return { a: new Channel(store.createChannel('a')), b: new Channel(store.createChannel('b')) };
}

test('embedded in-process connection: one subject group per channel, acks reach the channel handler by inbox', () => {
  const server = EmbeddedNatsServer.create(defaultNatsServerOptions(), silentLogger);
  const ip = connectInProcess(server, 'core');
  const peer = connectInProcess(server, 'client');
  const got: string[] = [];
  const inboxes = new AckInboxes(ip, (ch) => (subject) => got.push(`${ch.name}:${ch.byAckInbox.get(subject)?.id ?? 'none'}`));
  const { a, b } = channels();
  const base = server.sublist.size;
  const s1 = new Subscription(subState(1, '_INBOX.ack1'), a);
  const s2 = new Subscription(subState(2, '_INBOX.ack2'), a);
  const s3 = new Subscription(subState(3, '_INBOX.ack3'), b);
  for (const s of [s1, s2, s3]) inboxes.attach(s);
  assert.equal(server.sublist.size, base + 3);
  assert.equal(s1.ackSub, undefined, 'no subscription object per inbox');
  assert.equal(ip.snapshot().subscriptions, 3);
  for (const inbox of ['_INBOX.ack2', '_INBOX.ack3', '_INBOX.ack1', '_INBOX.other']) peer.publish(inbox, new Uint8Array(1));
  assert.deepEqual(got, ['a:2', 'b:3', 'a:1']);

  inboxes.detach(s2);
  inboxes.detach(s2);
  assert.equal(a.byAckInbox.has('_INBOX.ack2'), false);
  assert.equal(server.sublist.size, base + 2);
  peer.publish('_INBOX.ack2', new Uint8Array(1));
  assert.equal(got.length, 3, 'a detached inbox gets nothing');

  // Attaching again after the inbox changed (a durable resumed with a new ack inbox).
  inboxes.detach(s1);
  s1.state.ackInbox = '_INBOX.ack1b';
  inboxes.attach(s1);
  peer.publish('_INBOX.ack1', new Uint8Array(1));
  peer.publish('_INBOX.ack1b', new Uint8Array(1));
  assert.deepEqual(got.slice(3), ['a:1']);
  assert.equal(server.sublist.size, base + 2);

  // The channel's last inbox gone: its group is closed.
  inboxes.detach(s1);
  assert.equal(server.sublist.size, base + 1);
  assert.equal(ip.snapshot().subscriptions, 1);
  inboxes.closeAll([a, b]);
  assert.equal(server.sublist.size, base);
  assert.equal(ip.snapshot().subscriptions, 0);
  assert.equal(b.byAckInbox.size, 1, 'shutdown leaves the runtime state as it is');
});

test('a transport without subject groups: one subscription per ack inbox', async () => {
  const nc = new MemoryTransport(new FakeClock());
  const got: string[] = [];
  const inboxes = new AckInboxes(nc, (ch) => (subject) => got.push(`${ch.name}:${subject}`));
  const { a } = channels();
  const s1 = new Subscription(subState(1, '_INBOX.ack1'), a);
  inboxes.attach(s1);
  assert.notEqual(s1.ackSub, undefined);
  nc.publish('_INBOX.ack1', new Uint8Array(1));
  await settle();
  inboxes.detach(s1);
  assert.equal(s1.ackSub, undefined);
  assert.equal(a.byAckInbox.size, 0);
  nc.publish('_INBOX.ack1', new Uint8Array(1));
  await settle();
  assert.deepEqual(got, ['a:_INBOX.ack1']);
  inboxes.attach(s1);
  inboxes.closeAll([a]);
  nc.publish('_INBOX.ack1', new Uint8Array(1));
  await settle();
  assert.equal(got.length, 1);
});
