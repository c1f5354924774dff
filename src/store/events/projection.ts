/**
 * The projection of the event log: `evolve(state, event)` folds one StoreEvent into the
 * ProjectedState (to-recovered.ts turns the state into what the server needs at start).
 *
 * Pure in the sense that matters for event sourcing: no I/O, no clock, no randomness: the
 * same events give the same state. For recovery speed (millions of events) `evolve` mutates
 * and returns the state it is given instead of copying it: the caller owns the state and
 * must not share it (the store keeps one live projection; tests start from `emptyState()`).
 * Objects coming *from* events (SubState, connID) are copied, never kept: the server keeps
 * mutating its own SubState objects after recording them.
 *
 * Replay never throws: an event that references a channel or subscription the state does
 * not have (removed by a later-compacted deletion, or an event that raced a deletion in the
 * same commit) is ignored, and applying an event twice where that makes sense is harmless
 * (MsgStored at or below the last sequence, MsgsSent/MsgsAcked of the same sequences,
 * repeated deletions).
 */
import type { ClientInfo, ServerInfo, SubState } from '../../protocol/codec';
import { EventKind, type StoreEvent } from './events';
import { NO_PENDING, noPending } from './no-pending';
import { countThrough } from '../limits/span-count';

export interface SubProjection {
  state: SubState;
  /**
   * Sequences sent and not yet acknowledged. Subscriptions with none share NO_PENDING, which
   * is never added to: MsgsSent gives the subscription its own set first.
   */
  pending: Set<number>;
  /** Redeliveries per pending sequence, kept only for subscriptions with max deliveries. */
  redelivered?: Map<number, number>;
}

export interface ChannelProjection {
  id: number;
  name: string;
  /** 0 while the channel never had a message. */
  firstSeq: number;
  lastSeq: number;
  msgCount: number;
  byteCount: number;
  subs: Map<number, SubProjection>;
  /** Messages that reached max deliveries (MsgDeadLettered), when any. */
  deadLettered?: number;
}

export interface ProjectedState {
  serverInfo: ServerInfo | undefined;
  clients: Map<string, ClientInfo>;
  channels: Map<number, ChannelProjection>;
  channelIDsByName: Map<string, number>;
  /** Next channel ID to assign: above every ID ever seen, so IDs are never reused. */
  nextChannelID: number;
  /** Next subscription ID to assign (store-wide, spb.SubState.ID): never reused either. */
  nextSubID: number;
  /** event_id of the last stan_events row folded in (0: none); what a snapshot covers. */
  lastEventID: number;
}

export function emptyState(): ProjectedState {
  return {
    serverInfo: undefined,
    clients: new Map(),
    channels: new Map(),
    channelIDsByName: new Map(),
    nextChannelID: 1,
    nextSubID: 1,
    lastEventID: 0,
  };
}

/** A copy of a SubState (the projection never keeps or hands out the objects it is given). */
export function copySub(s: SubState): SubState {
  return {
    ID: s.ID,
    clientID: s.clientID,
    qGroup: s.qGroup,
    inbox: s.inbox,
    ackInbox: s.ackInbox,
    maxInFlight: s.maxInFlight,
    ackWaitInSecs: s.ackWaitInSecs,
    durableName: s.durableName,
    lastSent: s.lastSent,
    isDurable: s.isDurable,
    isClosed: s.isClosed,
  };
}

function removeChannel(state: ProjectedState, id: number): void {
  const ch = state.channels.get(id);
  if (ch === undefined) return;
  state.channels.delete(id);
  if (state.channelIDsByName.get(ch.name) === id) state.channelIDsByName.delete(ch.name);
}

/**
 * Folds `event` into `state` (mutating it, see the top of the file) and returns it.
 * `eventID` is the event's stan_events row ID when it has one (MsgStored rows have none);
 * lastEventID only moves forward.
 *
 * Longer than ~80 lines on purpose: one short case per event kind, and the whole fold read
 * in one place is what makes it checkable against events.ts.
 */
export function evolve(state: ProjectedState, event: StoreEvent, eventID?: number): ProjectedState {
  // Kept whole (~150 lines): one case per event kind of the pure fold; reading the event model
  // in one switch is the point, and each case is a few lines.
  if (eventID !== undefined && eventID > state.lastEventID) state.lastEventID = eventID;
  switch (event.kind) {
    case EventKind.ServerInit:
      state.serverInfo = {
        ClusterID: event.clusterID,
        Discovery: event.discovery,
        Publish: event.publish,
        Subscribe: event.subscribe,
        Unsubscribe: event.unsubscribe,
        Close: event.close,
        SubClose: event.subClose,
        AcksSubs: event.acksSubs,
        // Not persisted: the node ID only matters to clustering, which this store is not for.
        NodeID: '',
      };
      break;

    case EventKind.ClientConnected:
      // Adds, or replaces a client with the same ID (reconnect after a replacement).
      state.clients.set(event.clientID, {
        ID: event.clientID,
        HbInbox: event.hbInbox,
        // A copy: a decoded request's connID is a view into a larger network buffer.
        ConnID: new Uint8Array(event.connID),
        Protocol: event.protocol,
        PingInterval: event.pingInterval,
        PingMaxOut: event.pingMaxOut,
      });
      break;

    case EventKind.ClientClosed:
      // Only the client: the server records SubDeleted/SubUpdated for each of its
      // subscriptions (plain removed, durables offline, queue members leaving), so the
      // subscriptions' fate is in the log, not inferred here.
      state.clients.delete(event.clientID);
      break;

    case EventKind.ChannelCreated: {
      if (event.channelID >= state.nextChannelID) state.nextChannelID = event.channelID + 1;
      if (state.channels.has(event.channelID)) break; // replayed twice: keep what it has
      // Names are unique: a live channel with the same name and another ID can only be a
      // stale one whose ChannelDeleted was lost, and the latest creation is the truth.
      const old = state.channelIDsByName.get(event.name);
      if (old !== undefined) removeChannel(state, old);
      state.channels.set(event.channelID, {
        id: event.channelID,
        name: event.name,
        firstSeq: 0,
        lastSeq: 0,
        msgCount: 0,
        byteCount: 0,
        subs: new Map(),
      });
      state.channelIDsByName.set(event.name, event.channelID);
      break;
    }

    case EventKind.ChannelDeleted:
      // Its messages and subscriptions go with it.
      removeChannel(state, event.channelID);
      break;

    case EventKind.SubCreated: {
      // IDs are store-wide and never reused, even when the channel is unknown here.
      if (event.sub.ID >= state.nextSubID) state.nextSubID = event.sub.ID + 1;
      const ch = state.channels.get(event.channelID);
      if (ch === undefined) break;
      const existing = ch.subs.get(event.sub.ID);
      if (existing !== undefined) existing.state = copySub(event.sub);
      else ch.subs.set(event.sub.ID, { state: copySub(event.sub), pending: noPending() });
      break;
    }

    case EventKind.SubPositionReset: {
      const sub = state.channels.get(event.channelID)?.subs.get(event.subID);
      if (sub === undefined) break;
      sub.state.lastSent = event.lastSent;
      sub.pending.clear();
      break;
    }

    case EventKind.SubUpdated: {
      if (event.sub.ID >= state.nextSubID) state.nextSubID = event.sub.ID + 1;
      const sub = state.channels.get(event.channelID)?.subs.get(event.sub.ID);
      if (sub === undefined) break;
      // lastSent never goes backwards in STAN (durable resume and shadow takeover keep it).
      // Delivery progress is batched per commit, so a MsgsSent recorded before this update
      // may be appended after it, or the other way round: keeping the max makes the result
      // independent of that order.
      const lastSent = Math.max(sub.state.lastSent, event.sub.lastSent);
      sub.state = copySub(event.sub);
      sub.state.lastSent = lastSent;
      break;
    }

    case EventKind.SubDeleted:
      state.channels.get(event.channelID)?.subs.delete(event.subID);
      break;

    case EventKind.MsgsSent: {
      const sub = state.channels.get(event.channelID)?.subs.get(event.subID);
      if (sub === undefined) break;
      // lastSent is raised for every kind of subscription, queue members included: each
      // member's record carries the highest sequence it was sent and the server takes the
      // maximum over a group's members (and shadow) as the group's position at recovery.
      // Max rather than last: a message moved from a leaving member, or a redelivery,
      // re-sends an older sequence.
      let max = sub.state.lastSent;
      let pending = sub.pending;
      if (pending === NO_PENDING) pending = sub.pending = new Set();
      for (const seq of event.seqs) {
        pending.add(seq);
        if (seq > max) max = seq;
      }
      sub.state.lastSent = max;
      break;
    }

    case EventKind.MsgsAcked: {
      const sub = state.channels.get(event.channelID)?.subs.get(event.subID);
      if (sub === undefined) break;
      for (const seq of event.seqs) {
        sub.pending.delete(seq);
        sub.redelivered?.delete(seq);
      }
      break;
    }

    case EventKind.MsgDeadLettered: {
      const ch = state.channels.get(event.channelID);
      const sub = ch?.subs.get(event.subID);
      if (ch === undefined || sub === undefined || !sub.pending.has(event.seq)) break; // replayed
      sub.pending.delete(event.seq);
      sub.redelivered?.delete(event.seq);
      ch.deadLettered = (ch.deadLettered ?? 0) + 1;
      break;
    }

    case EventKind.MsgRedelivered: {
      const sub = state.channels.get(event.channelID)?.subs.get(event.subID);
      if (sub === undefined) break;
      const counts = (sub.redelivered ??= new Map());
      // Max: counts never go down, and a replayed event changes nothing.
      counts.set(event.seq, Math.max(counts.get(event.seq) ?? 0, event.count));
      break;
    }

    case EventKind.MsgsExpired: {
      const ch = state.channels.get(event.channelID);
      if (ch === undefined) break;
      // Absolute values (see MsgsExpiredEvent): count/bytes are the channel's after the
      // removal, and lastSeq covers the rows stored before it, so MsgStored rows replayed
      // later at or below it are recognised as already counted.
      ch.firstSeq = event.firstSeq;
      if (event.lastSeq > ch.lastSeq) ch.lastSeq = event.lastSeq;
      ch.msgCount = event.msgCount;
      ch.byteCount = event.byteCount;
      // Pending sequences below firstSeq are kept on purpose: they were sent and not acked,
      // and the server acks them implicitly when it finds them gone at redelivery (spec
      // §3.5), which records a MsgsAcked. Dropping them here would make the projection
      // disagree with the server's in-memory state until then.
      break;
    }

    case EventKind.MsgStored: {
      const ch = state.channels.get(event.channelID);
      // At or below lastSeq: already counted (replay after a snapshot, or covered by a
      // MsgsExpired), like the stores that ignore a sequence <= last.
      if (ch === undefined || event.seq <= ch.lastSeq) break;
      // The count is the span first..last, as the stores count in memory (limits/span-count.ts):
      // counting rows made a restart disagree with the running server, and max_age then removed
      // more or fewer than the count held.
      countThrough(ch, event.seq);
      ch.byteCount += event.size;
      break;
    }

    default: {
      // An unknown kind (written by a newer server) changes nothing this version knows.
      const never: never = event;
      void never;
    }
  }
  return state;
}
