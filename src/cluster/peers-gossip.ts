/**
 * Peers lists that disagree between running nodes (issue 13). The reference builds its Raft
 * configuration from `cluster_peers`; here the lease needs no member list, so a wrong list
 * changes nothing at run time, but it shows a deployment mistake (a node missing from the
 * others' lists, a typo): each node announces its ID and peers on the shared NATS, and a node
 * logs every announcement whose member set differs from its own, once per node and set.
 */
import type { Logger } from '../logging/logger';
import type { NatsTransport, TransportSubscription } from '../nats/transport';

export interface PeersAnnouncement {
  nodeID: string;
  /** The node's --cluster_peers (its own ID removed); empty when none were given. */
  peers: string[];
  /** The announcing process (server ID) and its start time: two processes with one node ID tell each other apart. */
  instance?: string;
  since?: number;
}

/** Subject of the announcements: outside the reference's `_STAN.raft.` subjects. */
export function peersSubject(clusterID: string): string {
  return `_STAN.clustered.${clusterID}.peers`;
}

/** The node and its peers, sorted, without repeats: two nodes agree when these are equal. */
export function memberSet(a: PeersAnnouncement): string[] {
  return [...new Set([a.nodeID, ...a.peers])].sort();
}

/**
 * The warning for a disagreeing announcement, or undefined. A node without a peers list (the
 * reference's auto-join form) agrees with everyone.
 */
export function peersDisagreement(mine: PeersAnnouncement, theirs: PeersAnnouncement): string | undefined {
  if (mine.peers.length === 0 || theirs.peers.length === 0 || mine.nodeID === theirs.nodeID) return undefined;
  const a = memberSet(mine);
  const b = memberSet(theirs);
  if (a.join(',') === b.join(',')) return undefined;
  return (
    `clustering: node "${theirs.nodeID}" lists the cluster as [${b.join(', ')}], this node "${mine.nodeID}" as [${a.join(', ')}]: ` +
    'make --cluster_peers (peers) agree on every node (the lease does not need them, but the reference would not form this cluster)'
  );
}

function decode(data: Uint8Array): PeersAnnouncement | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as { nodeID?: unknown; peers?: unknown; instance?: unknown; since?: unknown };
    if (typeof v.nodeID !== 'string' || !Array.isArray(v.peers) || !v.peers.every((p) => typeof p === 'string')) return undefined;
    const a: PeersAnnouncement = { nodeID: v.nodeID, peers: v.peers as string[] };
    if (typeof v.instance === 'string' && typeof v.since === 'number') {
      a.instance = v.instance;
      a.since = v.since;
    }
    return a;
  } catch {
    return undefined;
  }
}

export interface GossipTimers {
  setInterval: (f: () => void, ms: number) => NodeJS.Timeout;
  clearInterval: (t: NodeJS.Timeout) => void;
}

/** Announces this node's peers every `everyMs` and logs disagreeing announcements of others. */
export class PeersGossip {
  private sub: TransportSubscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly warned = new Set<string>();
  private announce: () => void = () => {};
  /** Called for every announcement from another process with this node's ID. */
  onSameNodeID: ((theirs: PeersAnnouncement) => void) | undefined;

  constructor(
    private readonly nc: NatsTransport,
    private readonly clusterID: string,
    private readonly mine: PeersAnnouncement,
    private readonly log: Logger,
    private readonly everyMs = 5000,
    private readonly timers: GossipTimers = { setInterval, clearInterval },
  ) {}

  start(): void {
    const subject = peersSubject(this.clusterID);
    this.sub = this.nc.subscribe(subject, (_s, _r, data) => this.onAnnouncement(data));
    this.announce = (): void => this.nc.publish(subject, new TextEncoder().encode(JSON.stringify(this.mine)));
    this.announce();
    this.timer = this.timers.setInterval(this.announce, this.everyMs);
  }

  /** Announces now (e.g. so that a newcomer with our node ID learns of us at once). */
  announceNow(): void {
    this.announce();
  }

  private onAnnouncement(data: Uint8Array): void {
    const theirs = decode(data);
    if (theirs === undefined) return;
    if (theirs.nodeID === this.mine.nodeID && theirs.instance !== this.mine.instance) this.onSameNodeID?.(theirs);
    const warning = peersDisagreement(this.mine, theirs);
    if (warning === undefined) return;
    const key = `${theirs.nodeID}|${memberSet(theirs).join(',')}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log.warn(warning);
  }

  close(): void {
    if (this.timer !== undefined) this.timers.clearInterval(this.timer);
    this.sub?.unsubscribe();
  }
}
