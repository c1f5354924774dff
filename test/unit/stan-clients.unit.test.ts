/**
 * The client registry without sockets (src/stan/clients.ts, heartbeats.ts): the liveness
 * probe of an already registered client ID, and heartbeat failures closing a client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../helpers/fake-clock';
import { startCore, TestClient } from '../helpers/stan-core';

test('connect with a registered ID whose client answers the probe: refused', async () => {
  const h = startCore();
  try {
    const old = new TestClient(h, 'me');
    assert.equal((await old.connect()).error, '');
    const dup = new TestClient(h, 'me');
    assert.equal((await dup.connect()).error, 'stan: clientID already registered');
    assert.equal(h.core.clients.get('me')?.info.HbInbox, old.hbInbox);
  } finally {
    await h.close();
  }
});

test('connect with a registered ID whose client is gone: the probe times out and the new client replaces it', async () => {
  const h = startCore();
  try {
    const old = new TestClient(h, 'me');
    await old.connect();
    old.alive = false;
    const dup = new TestClient(h, 'me');
    const answer = dup.connect();
    // A second connect while the probe runs is refused at once.
    assert.equal((await new TestClient(h, 'me').connect()).error, 'stan: clientID already registered');
    await h.clock.advance(499);
    assert.equal(h.core.clients.get('me')?.info.HbInbox, old.hbInbox, 'still probing');
    await h.clock.advance(1);
    assert.equal((await answer).error, '');
    assert.equal(h.core.clients.get('me')?.info.HbInbox, dup.hbInbox);
  } finally {
    await h.close();
  }
});

test('a client missing more than hb_fail_count heartbeats is closed; its plain subscriptions go', async () => {
  const h = startCore((o) => {
    o.clientHBInterval = 1_000;
    o.clientHBTimeout = 100;
    o.clientHBFailCount = 2;
  });
  try {
    const c = new TestClient(h, 'c1');
    await c.connect();
    await c.subscribe('foo');
    assert.equal(h.core.subscriptionCount, 1);
    c.alive = false;
    await h.clock.advance(2 * 1_100);
    assert.ok(h.core.clients.has('c1'), 'two failures are allowed');
    await h.clock.advance(1_100);
    await settle();
    assert.ok(!h.core.clients.has('c1'));
    assert.equal(h.core.subscriptionCount, 0);
  } finally {
    await h.close();
  }
});
