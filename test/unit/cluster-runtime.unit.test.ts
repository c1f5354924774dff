/**
 * Clustered mode's run-time pieces without I/O: the duplicate node ID check of a follower
 * (src/cluster/duplicate-node.ts), the option checks of src/cluster/runtime.ts, and the
 * clustered fields of /streaming/serverz, the peers-list comparison and its announcements.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOptions } from '../../src/config/load';
import type { ServerOptions } from '../../src/config/options';
import { duplicateNodeCheck, DuplicateNodeIdError } from '../../src/cluster/duplicate-node';
import { validateClusterOptions } from '../../src/cluster/runtime';
import { ClusterConfigError } from '../../src/cluster/validate';
import { ElectionFatalError } from '../../src/ft/controller';
import { serverz } from '../../src/monitor/streaming';
import { defaultServerOptions } from '../../src/config/options';
import { peersDisagreement, PeersGossip, peersSubject } from '../../src/cluster/peers-gossip';
import { MemoryTransport } from '../helpers/memory-transport';
import { FakeClock, settle } from '../helpers/fake-clock';
import { captureLogger } from '../helpers/nats-helpers';

/** A lease row that the test moves by hand. */
function row(owner: string, writes: number): { peek: () => Promise<{ owner: string; writes: number }> } & { set: (o: string, w: number) => void } {
  let cur = { owner, writes };
  return { peek: async () => cur, set: (o, w) => (cur = { owner: o, writes: w }) };
}

test('duplicate node ID: the row names our ID and its write counter moves → DuplicateNodeIdError (fatal to the election)', async () => {
  const r = row('a', 10);
  const check = duplicateNodeCheck(r, 'a', 'c1');
  await check();
  r.set('a', 11);
  await assert.rejects(check(), (err: unknown) => err instanceof DuplicateNodeIdError && err instanceof ElectionFatalError && /node ID "a".*--cluster_node_id/.test(err.message));
});

test('duplicate node ID: our own crashed previous run (the row names our ID but stands still) is no error', async () => {
  const r = row('a', 10);
  const check = duplicateNodeCheck(r, 'a', 'c1');
  for (let i = 0; i < 5; i++) await check();
});

test('duplicate node ID: another owner resets the observation', async () => {
  const r = row('a', 10);
  const check = duplicateNodeCheck(r, 'a', 'c1');
  await check();
  r.set('b', 11);
  await check();
  r.set('a', 12);
  await check(); // first sighting again
  r.set('a', 12);
  await check();
});

function options(args: string[]): ServerOptions {
  const r = loadOptions(args, {});
  if (r.kind !== 'run') throw new Error('expected options');
  return r.options;
}

test('clustered mode needs a shared NATS (-ns or routes) and renew < ttl; node options need --clustered', () => {
  const sql = ['-store', 'sql', '--sql_driver', 'postgres', '--sql_source', 'host=db'];
  assert.throws(() => validateClusterOptions(options([...sql, '--clustered']), false), /must share one NATS/);
  validateClusterOptions(options([...sql, '--clustered', '-ns', 'nats://127.0.0.1:4222']), false);
  validateClusterOptions(options([...sql, '--clustered']), true);
  assert.throws(
    () => validateClusterOptions(options([...sql, '--clustered', '-ns', 'nats://x:1', '--ft_lease_renew', '2s', '--ft_lease_ttl', '1s']), false),
    /--ft_lease_renew \(2000ms\) must be shorter/,
  );
  assert.throws(() => validateClusterOptions(options(['--cluster_peers', 'b,c']), false), (err: unknown) => err instanceof ClusterConfigError && /--cluster_peers without --clustered/.test(err.message));
  validateClusterOptions(options([]), false);
});

test('serverz in clustered mode: state CLUSTERED, role and node_id right after state; omitted otherwise', () => {
  const base = { clusterID: 'c', serverID: 's', startTime: new Date(), core: undefined, store: undefined, limits: defaultServerOptions().streaming.storeLimits, storeType: 'SQL' };
  const z = serverz({ ...base, state: 'CLUSTERED', cluster: { nodeID: 'a', role: 'Follower' } }, { version: 'v', go: 'g' }, { open: 0, max: 0 });
  assert.deepEqual(Object.keys(z).slice(4, 8), ['state', 'role', 'node_id', 'now']);
  assert.equal(z.role, 'Follower');
  assert.equal(z.node_id, 'a');
  const s = serverz({ ...base, state: 'STANDALONE' }, { version: 'v', go: 'g' }, { open: 0, max: 0 });
  assert.ok(!('role' in s) && !('node_id' in s));
});

test('peers lists: member sets compared (own ID added, order and repeats ignored); no list agrees with everyone', () => {
  assert.equal(peersDisagreement({ nodeID: 'a', peers: ['b', 'c'] }, { nodeID: 'b', peers: ['c', 'a'] }), undefined);
  assert.equal(peersDisagreement({ nodeID: 'a', peers: ['b', 'c'] }, { nodeID: 'd', peers: [] }), undefined);
  const w = peersDisagreement({ nodeID: 'a', peers: ['b', 'c'] }, { nodeID: 'b', peers: ['a'] });
  assert.match(w ?? '', /node "b" lists the cluster as \[a, b\], this node "a" as \[a, b, c\]: make --cluster_peers/);
});

test('peers gossip over a transport: each disagreeing node logged once; bad announcements ignored; stops on close', async () => {
  const clock = new FakeClock();
  const nc = new MemoryTransport(clock);
  const timers: Array<() => void> = [];
  const fakeTimers = {
    setInterval: (f: () => void) => {
      timers.push(f);
      return timers.length as unknown as NodeJS.Timeout;
    },
    clearInterval: () => timers.splice(0),
  };
  const logA = captureLogger();
  const logB = captureLogger();
  const a = new PeersGossip(nc, 'c1', { nodeID: 'a', peers: ['b', 'c'] }, logA, 1000, fakeTimers);
  const b = new PeersGossip(nc, 'c1', { nodeID: 'b', peers: ['a'] }, logB, 1000, fakeTimers);
  a.start();
  b.start();
  nc.publish(peersSubject('c1'), new TextEncoder().encode('{not json'));
  for (const t of timers) t();
  for (const t of timers) t();
  await settle();
  assert.equal(logA.lines.filter((l) => /node "b" lists the cluster as \[a, b\]/.test(l)).length, 1, logA.lines.join('\n'));
  assert.equal(logB.lines.filter((l) => /node "a" lists the cluster as \[a, b, c\]/.test(l)).length, 1, logB.lines.join('\n'));
  a.close();
  b.close();
  assert.equal(timers.length, 0);
});
