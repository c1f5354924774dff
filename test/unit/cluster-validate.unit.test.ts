/** Clustered mode's start-up checks and start-up lines (src/cluster/validate.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultServerOptions, type StreamingOptions } from '../../src/config/options';
import { loadOptions } from '../../src/config/load';
import {
  ClusterConfigError,
  clusteringStartupLines,
  ERR_CLUSTERING_MEMORY,
  ERR_CLUSTERING_PARTITIONING,
  validateClustering,
} from '../../src/cluster/validate';

function clustered(patch: (so: StreamingOptions) => void = () => undefined): StreamingOptions {
  const so = defaultServerOptions().streaming;
  so.clustering.clustered = true;
  so.storeType = 'SQL';
  so.sql.driver = 'postgres';
  so.sql.source = 'host=db';
  patch(so);
  return so;
}

function load(args: string[]): StreamingOptions {
  const r = loadOptions(args, {});
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') throw new Error('unreachable');
  return r.options.streaming;
}

test('clustering off: nothing is checked', () => {
  const so = defaultServerOptions().streaming;
  so.ftGroupName = 'g';
  assert.doesNotThrow(() => validateClustering(so));
});

test('clustered on a SQL store with node ID and peers is accepted', () => {
  assert.doesNotThrow(() => validateClustering(clustered((so) => {
    so.clustering.nodeID = 'a';
    so.clustering.peers = ['b', 'c'];
  })));
});

test('MEMORY store: the reference error, why, and the docs', () => {
  const so = load(['-clustered', '-cluster_node_id', 'a']);
  assert.equal(so.storeType, 'MEMORY');
  assert.throws(() => validateClustering(so), (e: Error) => {
    assert.ok(e instanceof ClusterConfigError);
    assert.ok(e.message.startsWith(ERR_CLUSTERING_MEMORY), e.message);
    assert.match(e.message, /-store sql/);
    assert.match(e.message, /docs\/clustering\.md/);
    return true;
  });
});

test('FILE store: refused, explaining that it is local to one machine', () => {
  const so = load(['-store', 'file', '-dir', 'store-a', '-clustered', '-cluster_node_id', 'a', '-cluster_peers', 'b,c']);
  assert.throws(() => validateClustering(so), /needs -store sql.*SQLite file that only one machine can use.*docs\/clustering\.md/);
});

test('partitioning with clustering: the reference error', () => {
  assert.throws(() => validateClustering(clustered((so) => { so.partitioning = true; })), (e: Error) => e.message === ERR_CLUSTERING_PARTITIONING);
});

test('--ft_group with --clustered is refused', () => {
  const so = load(['-store', 'sql', '-sql_driver', 'postgres', '-sql_source', 'host=db', '-clustered', '-ft_group', 'g']);
  assert.throws(() => validateClustering(so), /--ft_group cannot be used with --clustered.*remove --ft_group/);
});

test('node IDs and peers must be valid lease member names', () => {
  assert.throws(() => validateClustering(clustered((so) => { so.clustering.nodeID = 'has space'; })), /invalid node ID "has space" \(--cluster_node_id\)/);
  assert.throws(() => validateClustering(clustered((so) => { so.clustering.nodeID = 'x'.repeat(65); })), /1 to 64 characters/);
  assert.throws(() => validateClustering(clustered((so) => { so.clustering.peers = ['b', 'c/d']; })), /"c\/d" \(--cluster_peers\)/);
  assert.throws(() => validateClustering(clustered((so) => { so.clusterID = 'my cluster'; })), /cluster ID "my cluster" cannot name the election group/);
});

test('start-up lines: node, peers, bootstrap, database replication, ignored Raft settings', () => {
  const r = loadOptions(['-store', 'sql', '-sql_driver', 'postgres', '-sql_source', 'host=db', '-clustered', '-cluster_node_id', 'a',
    '-cluster_peers', 'b,c', '-cluster_sync', '-cluster_log_cache_size', '10'], {});
  if (r.kind !== 'run') throw new Error('expected a run');
  const lines = clusteringStartupLines(r.options.streaming, r.options.explicit, { id: 'a', generated: false });
  assert.equal(lines[0], 'clustering: node "a" (configured) of cluster "test-cluster"; peers: b, c; bootstrap: false');
  assert.match(lines[1] ?? '', /replication is done by the SQL database.*synchronous_commit=on.*target_session_attrs=read-write/);
  assert.equal(lines[2], 'clustering: --cluster_log_cache_size, --cluster_sync: Raft settings, accepted and without effect here');
  const plain = clusteringStartupLines(clustered(), new Set(['clustered']), { id: 'n', file: '/x/node_id', generated: true });
  assert.equal(plain.length, 2);
  assert.match(plain[0] ?? '', /node "n" \(generated, kept in \/x\/node_id\).*peers: \(none given\)/);
});
