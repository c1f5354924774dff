/** Fixtures for tests that drive a store directly (no server). */
import type { ServerInfo, SubState } from '../../src/protocol/codec';

/** The server info record a server with cluster ID `cid` writes at its first start. */
export function serverInfo(cid = 'c1'): ServerInfo {
  return {
    ClusterID: cid,
    Discovery: `_STAN.discover.${cid}`,
    Publish: `_STAN.pub.${cid}`,
    Subscribe: `_STAN.sub.${cid}`,
    Unsubscribe: `_STAN.unsub.${cid}`,
    Close: `_STAN.close.${cid}`,
    SubClose: `_STAN.subclose.${cid}`,
    AcksSubs: `_STAN.ack.${cid}`,
    NodeID: '',
  };
}

/** A subscription's state as the server records it; `durableName` '' for a plain one. */
export function subState(clientID: string, durableName: string): SubState {
  return {
    ID: 0,
    clientID,
    qGroup: '',
    inbox: '_INBOX.x',
    ackInbox: '_INBOX.ack',
    maxInFlight: 10,
    ackWaitInSecs: 30,
    durableName,
    lastSent: 0,
    isDurable: durableName !== '',
    isClosed: false,
  };
}
