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

/**
 * A channel is a literal NATS subject: non-empty, no empty token (so no leading/trailing or
 * double dot), no wildcard character ('*' or '>' anywhere, as the reference), no whitespace, and no '/' (spec §3.2).
 */
export function isValidChannel(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  let tokenStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : 46; /* '.' sentinel closes the last token */
    if (c === 46) {
      const len = i - tokenStart;
      if (len === 0) return false;
      tokenStart = i + 1;
    } else if (c === 42 /* * */ || c === 62 /* > */ || c === 47 /* / */ || c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
      return false;
    }
  }
  return true;
}
