/**
 * Event builders for the projection tests (test/unit/store-projection*.unit.test.ts): one
 * function per store event kind, a fold over a list of events and a look-up of one
 * subscription in a projected state.
 */
import type { SubState } from '../../src/protocol/codec';
import { EventKind, type StoreEvent } from '../../src/store/events/events';
import { emptyState, evolve, type ProjectedState } from '../../src/store/events/projection';

export function fold(events: StoreEvent[], state: ProjectedState = emptyState()): ProjectedState {
  for (const e of events) state = evolve(state, e);
  return state;
}

export const init: StoreEvent = {
  kind: EventKind.ServerInit,
  clusterID: 'test-cluster',
  discovery: '_STAN.discover.test-cluster',
  publish: '_STAN.pub.X',
  subscribe: '_STAN.sub.X',
  unsubscribe: '_STAN.unsub.X',
  close: '_STAN.close.X',
  subClose: '_STAN.subclose.X',
  acksSubs: '_STAN.subacks.X',
};

export function connect(clientID: string, connByte = 1): StoreEvent {
  return {
    kind: EventKind.ClientConnected,
    clientID,
    hbInbox: `_INBOX.hb.${clientID}`,
    connID: new Uint8Array([connByte, 2, 3]),
    protocol: 1,
    pingInterval: 5,
    pingMaxOut: 3,
  };
}
export const closeClient = (clientID: string): StoreEvent => ({ kind: EventKind.ClientClosed, clientID });
export const channel = (channelID: number, name: string): StoreEvent => ({ kind: EventKind.ChannelCreated, channelID, name });

export function sub(ID: number, patch: Partial<SubState> = {}): SubState {
  return {
    ID,
    clientID: 'c1',
    qGroup: '',
    inbox: `_INBOX.${ID}`,
    ackInbox: `_STAN.ack.${ID}`,
    maxInFlight: 100,
    ackWaitInSecs: 30,
    durableName: '',
    lastSent: 0,
    isDurable: false,
    isClosed: false,
    ...patch,
  };
}
export const created = (channelID: number, s: SubState): StoreEvent => ({ kind: EventKind.SubCreated, channelID, sub: s });
export const updated = (channelID: number, s: SubState): StoreEvent => ({ kind: EventKind.SubUpdated, channelID, sub: s });
export const deleted = (channelID: number, subID: number): StoreEvent => ({ kind: EventKind.SubDeleted, channelID, subID });
export const sent = (channelID: number, subID: number, seqs: number[]): StoreEvent => ({ kind: EventKind.MsgsSent, channelID, subID, seqs });
export const acked = (channelID: number, subID: number, seqs: number[]): StoreEvent => ({ kind: EventKind.MsgsAcked, channelID, subID, seqs });
export const stored = (channelID: number, seq: number, size = 10): StoreEvent => ({
  kind: EventKind.MsgStored,
  channelID,
  seq,
  timestamp: seq * 1_000_000,
  size,
});

export function subOf(state: ProjectedState, channelID: number, subID: number): { state: SubState; pending: number[] } | undefined {
  const p = state.channels.get(channelID)?.subs.get(subID);
  return p && { state: p.state, pending: [...p.pending].sort((a, b) => a - b) };
}

export const redelivered = (channelID: number, subID: number, seq: number, count: number): StoreEvent => ({ kind: EventKind.MsgRedelivered, channelID, subID, seq, count });
export const deadLettered = (channelID: number, subID: number, seq: number, deliveries: number): StoreEvent => ({ kind: EventKind.MsgDeadLettered, channelID, subID, seq, deliveries });
