/**
 * Start-up checks of clustered mode (issue 13). Clustering here is not the reference's Raft:
 * the nodes of a cluster share one replicated SQL database and elect a leader through the
 * lease table FT uses, so the rules differ from the reference where our design needs it.
 * Pure functions: the caller decides when to run them (before anything is started).
 */
import type { StreamingOptions } from '../config/options';
import { StanServerError } from '../errors';

export const CLUSTERING_DOC = 'docs/clustering.md';

/** Same text as the reference's start-up error (spec stan §6). */
export const ERR_CLUSTERING_MEMORY = 'stan: clustering mode not supported with MEMORY store type';
/** Same text as the partitioning check's (spec stan §6, src/stan/partitioning.ts). */
export const ERR_CLUSTERING_PARTITIONING = 'stan: channels partitioning in clustering mode is not supported';

/** Node IDs are lease member names: a VARCHAR(64) owner column, shown in logs. */
const NODE_ID_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;
/** The cluster ID is the election group: the lease row's VARCHAR(255) key. */
const GROUP_RE = /^[A-Za-z0-9_.:@-]{1,255}$/;

export class ClusterConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

/** Throws ClusterConfigError when a node ID cannot be a member name of the election group. */
export function validateNodeID(id: string, where = '--cluster_node_id'): void {
  if (!NODE_ID_RE.test(id)) {
    throw new ClusterConfigError(
      `clustering: invalid node ID ${JSON.stringify(id.slice(0, 80))} (${where}): use 1 to 64 characters among letters, ` +
        'digits and _ . : @ - (the node ID is its member name in the lease table of the shared database)',
    );
  }
}

/**
 * The combinations clustered mode refuses, each with a message that says why and what to do.
 * Does nothing when clustering is off.
 */
export function validateClustering(so: StreamingOptions): void {
  const c = so.clustering;
  if (!c.clustered) return;
  if (so.storeType === 'MEMORY') {
    throw new ClusterConfigError(
      `${ERR_CLUSTERING_MEMORY}: the nodes of a cluster share their state through a replicated SQL database; ` +
        `use -store sql with --sql_driver and --sql_source pointing at it (see ${CLUSTERING_DOC})`,
    );
  }
  if (so.storeType === 'FILE') {
    throw new ClusterConfigError(
      'clustering mode needs -store sql: this server does not replicate its store itself (no Raft log), ' +
        "and its FILE store is a SQLite file that only one machine can use; point every node's -store sql " +
        `--sql_source at a replicated database (MariaDB Galera, PostgreSQL with a synchronous standby), see ${CLUSTERING_DOC}`,
    );
  }
  if (so.partitioning) throw new ClusterConfigError(ERR_CLUSTERING_PARTITIONING);
  if (so.ftGroupName !== '') {
    throw new ClusterConfigError(
      `clustering: --ft_group cannot be used with --clustered (as in the reference): the nodes of a cluster ` +
        `already form one election group named after the cluster ID; remove --ft_group (see ${CLUSTERING_DOC})`,
    );
  }
  if (!GROUP_RE.test(so.clusterID)) {
    throw new ClusterConfigError(
      `clustering: cluster ID ${JSON.stringify(so.clusterID.slice(0, 80))} cannot name the election group: use 1 to 255 ` +
        'characters among letters, digits and _ . : @ - (it is the key of the lease row in the database)',
    );
  }
  if (c.nodeID !== '') validateNodeID(c.nodeID);
  for (const p of c.peers) validateNodeID(p, '--cluster_peers');
}

/** Explicit option names that tune the reference's Raft log and have no effect here. */
export const RAFT_ONLY: readonly string[] = [
  'cluster_log_cache_size',
  'cluster_log_snapshots',
  'cluster_trailing_logs',
  'cluster_sync',
  'cluster_raft_logging',
  'cluster_raft_heartbeat_timeout',
  'cluster_raft_election_timeout',
  'cluster_raft_lease_timeout',
  'cluster_raft_commit_timeout',
  'cluster_bolt_free_list_sync',
  'cluster_bolt_free_list_map',
  'cluster_nodes_connections',
  'cluster_allow_add_remove_node',
  'cluster_proceed_on_restore_failure',
];

/**
 * The start-up lines of a clustered node: who it is, what its peers and bootstrap settings
 * are, and that replication is the database's job (with what to configure there), naming the
 * given Raft settings that therefore have no effect.
 */
export function clusteringStartupLines(so: StreamingOptions, explicit: ReadonlySet<string>, node: { id: string; file?: string; generated: boolean }): string[] {
  const c = so.clustering;
  const origin = node.file === undefined ? 'configured' : node.generated ? `generated, kept in ${node.file}` : `read from ${node.file}`;
  const peers = c.peers.length > 0 ? c.peers.join(', ') : '(none given)';
  const lines = [
    `clustering: node "${node.id}" (${origin}) of cluster "${so.clusterID}"; peers: ${peers}; bootstrap: ${c.bootstrap}`,
    'clustering: replication is done by the SQL database, not by this server (no Raft log): configure it there ' +
      '(MariaDB Galera: three or more nodes; PostgreSQL: a synchronous standby with synchronous_standby_names and ' +
      `synchronous_commit=on, and a multi-host --sql_source with target_session_attrs=read-write); see ${CLUSTERING_DOC}`,
  ];
  const ignored = RAFT_ONLY.filter((n) => explicit.has(n));
  if (ignored.length > 0) lines.push(`clustering: --${ignored.join(', --')}: Raft settings, accepted and without effect here`);
  return lines;
}
