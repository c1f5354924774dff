/**
 * Detects, while this node follows, another running node with the same node ID: the lease
 * row names our ID as its owner although we do not hold it, and its write counter moves (the
 * other node renews and writes). A row that names our ID but stands still is our own previous
 * run that crashed: its lease just expires and we take over, so that is not an error.
 */
import { ElectionFatalError } from '../ft/controller';
import { CLUSTERING_DOC } from './validate';

export interface LeaseView {
  peek(): Promise<{ owner: string; writes: number } | undefined>;
}

export class DuplicateNodeIdError extends ElectionFatalError {
  constructor(nodeID: string, clusterID: string, how = 'holds the lease') {
    super(
      `clustering: another running node of cluster "${clusterID}" uses the node ID "${nodeID}" and ${how}; ` +
        'every node needs its own ID: give this node another --cluster_node_id (or remove the node_id file under ' +
        `--cluster_log_path to generate a new one), see ${CLUSTERING_DOC}`,
    );
    this.name = 'DuplicateNodeIdError';
  }
}

/** Returns the check to run after each failed lease attempt (FtController.standbyCheck). */
export function duplicateNodeCheck(lease: LeaseView, nodeID: string, clusterID: string): () => Promise<void> {
  /** The write counter seen when the row first named our ID; undefined while it names another. */
  let seenWrites: number | undefined;
  return async () => {
    const row = await lease.peek();
    if (row === undefined || row.owner !== nodeID) {
      seenWrites = undefined;
      return;
    }
    if (seenWrites === undefined) seenWrites = row.writes;
    else if (row.writes !== seenWrites) throw new DuplicateNodeIdError(nodeID, clusterID);
  };
}

/** A running process of a node, as its peers announcements carry it (peers-gossip.ts). */
export interface NodeInstance {
  nodeID: string;
  /** Unique per process (the server ID). */
  instance: string;
  /** When the process started (ms since the epoch). */
  since: number;
}

/**
 * Two followers with one node ID never meet at the lease (neither holds it), so each node
 * also compares the announcements of the others with itself: another process with our ID
 * that started first makes us the second ('second': stop with DuplicateNodeIdError); one
 * that started after us is the newcomer ('first': we keep our role). Ties (same
 * millisecond) are broken by the instance ID so exactly one of the two stops. Clock skew
 * between machines only matters for processes started within the skew of each other.
 */
export function sameNodeVerdict(mine: NodeInstance, theirs: Partial<NodeInstance> & { nodeID: string }): 'first' | 'second' | undefined {
  if (theirs.nodeID !== mine.nodeID || theirs.instance === undefined || theirs.since === undefined || theirs.instance === mine.instance) return undefined;
  if (theirs.since < mine.since || (theirs.since === mine.since && theirs.instance < mine.instance)) return 'second';
  return 'first';
}
