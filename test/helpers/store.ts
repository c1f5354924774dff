/** Fixtures for tests that drive a store directly (no server). */
import assert from 'node:assert/strict';
import type { ServerInfo, SubState } from '../../src/protocol/codec';
import type { ChannelStore } from '../../src/store/contract';

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

/** Stores messages 1..n on `ch` (payload `poison<seq>` for the sequences in `poison`, else `m<seq>`): rows a test trigger refuses by content. */
export function storePoisoned(ch: ChannelStore, n: number, poison: ReadonlySet<number>, ts: number): void {
  for (let i = 1; i <= n; i++) ch.msgs.store({ seq: i, timestamp: ts + i, subject: 'foo', reply: '', data: Buffer.from(poison.has(i) ? `poison${i}` : `m${i}`) });
}

/** Each of 1..n was refused (with a reason matching `why`) exactly when it is in `poison`. */
export function assertRefusals(ch: ChannelStore, n: number, poison: ReadonlySet<number>, why: RegExp): void {
  for (let i = 1; i <= n; i++) {
    const reason = ch.msgs.takeRefusal?.(i);
    if (poison.has(i)) assert.match(reason ?? '', why, `seq ${i}`);
    else assert.equal(reason, undefined, `seq ${i}`);
  }
}
