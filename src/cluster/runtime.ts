/**
 * Clustered mode at run time (`--clustered`): the nodes of a cluster are the members of one
 * election group on the shared, replicated SQL database. The group is the cluster ID, the
 * member name the node ID; the leader is the holder of the FT lease (src/ft/), so the single
 * writer, the fence of every write transaction and the send gate are FT's, unchanged.
 */
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import type { NatsTransport } from '../nats/transport';
import type { Store } from '../store/contract';
import type { FtController } from '../ft/controller';
import { becomeActive, gatedTransport, type FtStartOptions } from '../ft/setup';
import { duplicateNodeCheck, DuplicateNodeIdError, sameNodeVerdict } from './duplicate-node';
import { PeersGossip } from './peers-gossip';
import { resolveNodeID } from './node-id';
import { ClusterConfigError, CLUSTERING_DOC, clusteringStartupLines, RAFT_ONLY } from './validate';

/** The node options of clustered mode (the Raft settings are validate.ts's RAFT_ONLY). */
const NODE_OPTIONS = ['cluster_node_id', 'cluster_bootstrap', 'cluster_peers', 'cluster_log_path'];

export type ClusterRole = 'Leader' | 'Follower' | 'Candidate';

/** This node's identity and current role, as /streaming/serverz reports them. */
export class ClusterMember {
  role: ClusterRole = 'Candidate';
  /** Set when another process with this node ID started first: the election stops with it. */
  duplicate: DuplicateNodeIdError | undefined;
  constructor(
    readonly nodeID: string,
    /** --cluster_peers without the node's own ID. */
    readonly peers: string[] = [],
  ) {}
}

/**
 * The nodes elect one leader among themselves, so clients must reach whichever node leads:
 * every node's STAN server talks to one NATS (an external one with -ns, or NATS servers
 * routed together with --cluster/--routes). Checked before anything is started.
 */
export function validateClusterOptions(options: ServerOptions, natsRoutes: boolean): void {
  const so = options.streaming;
  if (!so.clustering.clustered) {
    const given = [...options.explicit].filter((n) => NODE_OPTIONS.includes(n) || RAFT_ONLY.includes(n)).sort();
    if (given.length === 0) return;
    throw new ClusterConfigError(
      `clustering: --${given.join(', --')} without --clustered: add --clustered (or a cluster { } block) to run this server ` +
        `as a node of a cluster, or remove ${given.length > 1 ? 'them' : 'it'} (see ${CLUSTERING_DOC})`,
    );
  }
  if (so.ftLeaseRenew >= so.ftLeaseTTL) {
    throw new ClusterConfigError(`clustering: --ft_lease_renew (${so.ftLeaseRenew}ms) must be shorter than --ft_lease_ttl (${so.ftLeaseTTL}ms)`);
  }
  if (so.natsServerURL !== '' || natsRoutes) return;
  throw new ClusterConfigError(
    'clustering: the nodes of a cluster must share one NATS: connect them to a NATS server with -ns, or route their ' +
      `NATS servers together with --cluster and --routes (see ${CLUSTERING_DOC})`,
  );
}

/** Resolves the node ID and logs who this node is; before the store or NATS is opened. */
export function clusterMember(options: ServerOptions, log: Logger, generate: () => string): ClusterMember {
  const so = options.streaming;
  const c = so.clustering;
  const node = resolveNodeID({ nodeID: c.nodeID, logPath: c.logPath, clusterID: so.clusterID, cwd: process.cwd(), generate });
  // The reference drops the node's own ID from its peers: so do we, in what we report.
  const peers = c.peers.filter((p) => p !== node.id);
  const reported = { ...so, clustering: { ...c, peers } };
  for (const line of clusteringStartupLines(reported, options.explicit, node)) log.notice(line);
  return new ClusterMember(node.id, peers);
}

export interface ClusterStepOptions {
  log: Logger;
  signal: AbortSignal;
  onStandby?: () => void;
  onLease?: FtStartOptions['onLease'];
}

/**
 * Waits, as a follower, until this node leads; then every message the core sends goes
 * through the gate (nothing leaves while the node is not sure it still holds the lease).
 */
export async function clusterStep(
  options: ServerOptions,
  member: ClusterMember,
  store: Store,
  nc: NatsTransport,
  o: ClusterStepOptions,
): Promise<{ ft: FtController; coreNc: NatsTransport }> {
  const so = options.streaming;
  const ft = await becomeActive(so, store, {
    serverID: member.nodeID,
    log: o.log,
    signal: o.signal,
    onLease: o.onLease,
    onStandby: () => {
      member.role = 'Follower';
      o.onStandby?.();
    },
    cluster: {
      standbyCheck: (lease) => {
        const leaseCheck = duplicateNodeCheck(lease, member.nodeID, so.clusterID);
        return async () => {
          if (member.duplicate !== undefined) throw member.duplicate;
          await leaseCheck();
        };
      },
    },
  });
  return { ft, coreNc: gatedTransport(nc, ft) };
}

/**
 * Starts the peers announcements (src/cluster/peers-gossip.ts), which also carry this
 * process's server ID and start time: a follower that hears another process with its node ID
 * that started first records the duplicate (its election then stops with a clear error); the
 * first one logs the newcomer, keeps its role and announces at once so the newcomer learns.
 */
export function startClusterGossip(nc: NatsTransport, clusterID: string, member: ClusterMember, me: { serverID: string; startMs: number }, log: Logger): PeersGossip {
  const mine = { nodeID: member.nodeID, peers: member.peers, instance: me.serverID, since: me.startMs };
  const gossip = new PeersGossip(nc, clusterID, mine, log);
  const warned = new Set<string>();
  gossip.onSameNodeID = (theirs) => {
    const verdict = sameNodeVerdict(mine, theirs);
    if (verdict === 'second') member.duplicate ??= new DuplicateNodeIdError(member.nodeID, clusterID, `started before this one (server ${theirs.instance})`);
    if (verdict !== 'first' || warned.has(theirs.instance ?? '')) return;
    warned.add(theirs.instance ?? '');
    log.error(
      `clustering: another process (server ${theirs.instance}) started with this node's ID "${member.nodeID}"; it will stop, this node keeps its role (${member.role})`,
    );
    gossip.announceNow();
  };
  gossip.start();
  return gossip;
}
