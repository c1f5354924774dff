import type { ServerInfo } from '../protocol/codec';

/** The request subjects of one STAN cluster (spec §1.1), as persisted in ServerInfo. */
export function serverSubjects(clusterID: string, discoverPrefix: string, nodeID = ''): ServerInfo {
  return {
    ClusterID: clusterID,
    Discovery: `${discoverPrefix}.${clusterID}`,
    Publish: `_STAN.pub.${clusterID}`,
    Subscribe: `_STAN.sub.${clusterID}`,
    Unsubscribe: `_STAN.unsub.${clusterID}`,
    Close: `_STAN.close.${clusterID}`,
    SubClose: `_STAN.subclose.${clusterID}`,
    AcksSubs: `_STAN.ack.${clusterID}`,
    NodeID: nodeID,
  };
}

const CLIENT_ID_RE = /^[a-zA-Z0-9_-]+$/;
export function isValidClientID(id: string): boolean {
  return CLIENT_ID_RE.test(id);
}
