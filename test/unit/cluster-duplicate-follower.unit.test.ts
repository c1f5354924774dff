/**
 * Two followers with one node ID (issue 13): they never meet at the lease, so the peers
 * announcements carry each process's server ID and start time (src/cluster/runtime.ts
 * startClusterGossip, src/cluster/duplicate-node.ts sameNodeVerdict). The process that
 * started second records a DuplicateNodeIdError (its election stops with it); the first logs
 * the newcomer and keeps its role.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateNodeIdError, sameNodeVerdict } from '../../src/cluster/duplicate-node';
import { ClusterMember, startClusterGossip } from '../../src/cluster/runtime';
import { MemoryTransport } from '../helpers/memory-transport';
import { FakeClock, settle } from '../helpers/fake-clock';
import { captureLogger } from '../helpers/nats-helpers';

test('sameNodeVerdict: the later start is second, ties broken by instance, other IDs and old announcements ignored', () => {
  const me = { nodeID: 'a', instance: 'M', since: 2000 };
  assert.equal(sameNodeVerdict(me, { nodeID: 'a', instance: 'X', since: 1000 }), 'second');
  assert.equal(sameNodeVerdict(me, { nodeID: 'a', instance: 'X', since: 3000 }), 'first');
  assert.equal(sameNodeVerdict(me, { nodeID: 'a', instance: 'A', since: 2000 }), 'second');
  assert.equal(sameNodeVerdict(me, { nodeID: 'a', instance: 'Z', since: 2000 }), 'first');
  assert.equal(sameNodeVerdict(me, { nodeID: 'b', instance: 'X', since: 1000 }), undefined);
  assert.equal(sameNodeVerdict(me, { nodeID: 'a', instance: 'M', since: 2000 }), undefined, 'its own announcement');
  assert.equal(sameNodeVerdict(me, { nodeID: 'a' }), undefined, 'an announcement without instance (older version)');
});

test('given a follower "a", when a second process starts with node ID "a", then the second gets a clear error and the first keeps its role', async () => {
  const nc = new MemoryTransport(new FakeClock());
  const logFirst = captureLogger();
  const logSecond = captureLogger();
  const first = new ClusterMember('a', ['b']);
  first.role = 'Follower';
  const second = new ClusterMember('a', ['b']);
  const other = new ClusterMember('b', ['a']);
  const g1 = startClusterGossip(nc, 'c1', first, { serverID: 'S1', startMs: 1000 }, logFirst);
  const g3 = startClusterGossip(nc, 'c1', other, { serverID: 'S3', startMs: 1500 }, captureLogger());
  await settle();
  assert.equal(first.duplicate, undefined);
  const g2 = startClusterGossip(nc, 'c1', second, { serverID: 'S2', startMs: 2000 }, logSecond);
  await settle();
  try {
    assert.ok(second.duplicate instanceof DuplicateNodeIdError);
    assert.match(second.duplicate.message, /another running node of cluster "c1" uses the node ID "a" and started before this one \(server S1\).*--cluster_node_id/);
    assert.equal(first.duplicate, undefined, 'the first keeps its role');
    assert.equal(other.duplicate, undefined);
    assert.equal(first.role, 'Follower');
    assert.equal(logFirst.lines.filter((l) => /another process \(server S2\) started with this node's ID "a"; it will stop, this node keeps its role \(Follower\)/.test(l)).length, 1, logFirst.lines.join('\n'));
  } finally {
    for (const g of [g1, g2, g3]) g.close();
  }
});
