/** The streaming `cluster { }` block (spec stan §5.3): its presence enables clustering. */
import { asBool as bool, asList as list, asNumber as num, asString as str } from '../values';
import { applyKeys, key, mark, warnUnknown, type ApplyContext } from './keyspec';
import { NATS_CLUSTER_KEYS } from './known-keys';
import type { ConfReader } from './reader';

const CLUSTER_KEYS = [
  key(['node_id'], 'string', 'cluster_node_id', (o, v) => { o.streaming.clustering.nodeID = str(v); }),
  key(['bootstrap'], 'bool', 'cluster_bootstrap', (o, v) => { o.streaming.clustering.bootstrap = bool(v); }),
  key(['peers'], 'stringList', 'cluster_peers', (o, v) => { o.streaming.clustering.peers = list(v); }),
  key(['log_path', 'raft_log_path'], 'string', 'cluster_log_path', (o, v) => { o.streaming.clustering.logPath = str(v); }),
  key(['log_cache_size'], 'int', 'cluster_log_cache_size', (o, v) => { o.streaming.clustering.logCacheSize = num(v); }),
  key(['log_snapshots'], 'int', 'cluster_log_snapshots', (o, v) => { o.streaming.clustering.logSnapshots = num(v); }),
  key(['trailing_logs'], 'int', 'cluster_trailing_logs', (o, v) => { o.streaming.clustering.trailingLogs = num(v); }),
  key(['sync'], 'bool', 'cluster_sync', (o, v) => { o.streaming.clustering.sync = bool(v); }),
  key(['raft_logging'], 'bool', 'cluster_raft_logging', (o, v) => { o.streaming.clustering.raftLogging = bool(v); }),
  key(['proceed_on_restore_failure'], 'bool', 'cluster_proceed_on_restore_failure', (o, v) => {
    o.streaming.clustering.proceedOnRestoreFailure = bool(v);
  }),
  key(['allow_add_remove_node'], 'bool', 'cluster_allow_add_remove_node', (o, v) => {
    o.streaming.clustering.allowAddRemoveNode = bool(v);
  }),
  key(['raft_heartbeat_timeout'], 'duration', 'cluster_raft_heartbeat_timeout', (o, v) => {
    o.streaming.clustering.raftHeartbeatTimeout = num(v);
  }),
  key(['raft_election_timeout'], 'duration', 'cluster_raft_election_timeout', (o, v) => {
    o.streaming.clustering.raftElectionTimeout = num(v);
  }),
  key(['raft_lease_timeout'], 'duration', 'cluster_raft_lease_timeout', (o, v) => { o.streaming.clustering.raftLeaseTimeout = num(v); }),
  key(['raft_commit_timeout'], 'duration', 'cluster_raft_commit_timeout', (o, v) => {
    o.streaming.clustering.raftCommitTimeout = num(v);
  }),
  // Accepted for compatibility; no effect on this implementation (recorded only).
  key(['bolt_free_list_sync'], 'bool', 'cluster_bolt_free_list_sync', (o, v) => { o.streaming.clustering.boltFreeListSync = bool(v); }),
  key(['bolt_free_list_map'], 'bool', 'cluster_bolt_free_list_map', (o, v) => { o.streaming.clustering.boltFreeListMap = bool(v); }),
  key(['nodes_connections'], 'bool', 'cluster_nodes_connections', (o, v) => { o.streaming.clustering.nodesConnections = bool(v); }),
];

export function applyClustering(ctx: ApplyContext, sec: ConfReader): void {
  ctx.opts.streaming.clustering.clustered = true;
  mark(ctx, 'clustered');
  applyKeys(ctx, sec, CLUSTER_KEYS, (k) => {
    if (!NATS_CLUSTER_KEYS.has(k.toLowerCase())) warnUnknown(ctx, sec, k, 'streaming cluster ');
  });
}
