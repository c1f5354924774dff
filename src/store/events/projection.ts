/**
 * The projection of the event log: `evolve(state, event)` folds one StoreEvent into the
 * ProjectedState, `toRecovered(state)` turns the state into what the server needs at start.
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
import type { RecoveredSub } from '../contract';
import { EventKind, type StoreEvent } from './events';
import { NO_PENDING, noPending } from './no-pending';

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

function copySub(s: SubState): SubState {
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
      ch.lastSeq = event.seq;
      if (ch.firstSeq === 0) ch.firstSeq = event.seq;
      ch.msgCount++;
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

// ------------------------------------------------------------------ recovery

export interface RecoveredChannelState {
  channelID: number;
  name: string;
  firstSeq: number;
  lastSeq: number;
  msgCount: number;
  byteCount: number;
  /** Subscriptions by ascending ID (= creation order: queue members keep their order). */
  subs: RecoveredSub[];
  /** Messages of this channel that reached max deliveries so far (absent: none). */
  deadLettered?: number;
}

export interface ProjectedRecovery {
  info: ServerInfo;
  clients: ClientInfo[];
  /** By ascending channel ID (creation order). */
  channels: RecoveredChannelState[];
  /** Subscriptions removed by the clean-up rule (their SubDeleted events are in `cleanup`). */
  dropped: { channelID: number; subID: number }[];
  /**
   * Events the store must append (and fold into its live projection) so the log agrees
   * with what is recovered: SubDeleted for dropped subscriptions, SubUpdated for durables
   * turned offline / into a shadow, MsgsSent for pending sequences moved to a queue group's
   * survivor. Folding them into `state` and calling toRecovered again yields no clean-up
   * and the same recovered subscriptions.
   */
  cleanup: StoreEvent[];
}

/**
 * Redelivery counts of a ghost queue member merged into its survivor (a group counts per
 * group: the higher count wins). A new map: the survivor's may be the projection's own.
 */
function mergeCounts(into: Map<number, number> | undefined, from: Map<number, number> | undefined): Map<number, number> | undefined {
  if (from === undefined || from.size === 0) return into;
  const out = new Map(into);
  for (const [seq, n] of from) out.set(seq, Math.max(out.get(seq) ?? 0, n));
  return out;
}

/** A subscription is online when its client is registered and it is not a closed durable. */
function isOnline(state: ProjectedState, s: SubState): boolean {
  return s.clientID !== '' && !s.isClosed && state.clients.has(s.clientID);
}

interface WorkSub {
  state: SubState;
  pending: Set<number>;
  redelivered?: Map<number, number>;
}

/**
 * What the server needs at start (copies: the server mutates what it gets), after the
 * clean-up rule for subscriptions whose client did not come back. The server records the
 * fate of each subscription when a client closes, so these only exist when that record was
 * lost; the rule follows the reference's recovery (recoverOneSub) and spec §3.6/§3.8:
 *
 *  - plain non-durable: dropped (the reference does not recover them either);
 *  - plain durable: kept *offline*, i.e. `isClosed = true` with its clientID kept (the
 *    durable key is clientID+subject+durableName, §3.6), exactly what a Close would have
 *    stored; a new connection with that client ID resumes it;
 *  - queue member (durable or not) of a group that still has an online member: dropped, as
 *    a member leaving a non-empty group; its pending sequences move to the group's first
 *    online member and the group's lastSent is kept on it. (The reference simply deletes
 *    such "ghost" members and loses their unacknowledged messages; moving them is what a
 *    regular leave does, §3.5.)
 *  - durable queue group with no online member: the group is kept as its *shadow*
 *    (clientID "", §3.6): the existing shadow, or else the ghost with the lowest ID turned
 *    into one; the other ghosts' pending sequences and lastSent are merged into it;
 *  - non-durable queue group with no online member: the group is gone, members dropped.
 *
 * Existing shadows and closed durables are kept as they are.
 *
 * Throws when the state has no server info: check `state.serverInfo` first (an empty store
 * recovers as null).
 */
export function toRecovered(state: ProjectedState): ProjectedRecovery {
  // Kept whole (~125 lines): one pass turning the folded state into what recovery applies
  // (server, clients, channels, subscriptions, pending acks), in the order recovery needs it.
  if (state.serverInfo === undefined) {
    // Every store starts with ServerInit and compaction keeps it in the snapshot: a state
    // without it is an empty store (the caller returns null) or a damaged one.
    throw new Error('cannot recover: the store has no server info (no ServerInit event or snapshot)');
  }
  const cleanup: StoreEvent[] = [];
  const dropped: { channelID: number; subID: number }[] = [];
  const channels: RecoveredChannelState[] = [];

  const channelIDs = [...state.channels.keys()].sort((a, b) => a - b);
  for (const channelID of channelIDs) {
    const ch = state.channels.get(channelID) as ChannelProjection;
    const subIDs = [...ch.subs.keys()].sort((a, b) => a - b);
    // Working copies, so the clean-up never touches the projection (the store folds the
    // cleanup events into it).
    const kept = new Map<number, WorkSub>();
    const ghostsByGroup = new Map<string, WorkSub[]>();
    const drop = (s: WorkSub): void => {
      dropped.push({ channelID, subID: s.state.ID });
      cleanup.push({ kind: EventKind.SubDeleted, channelID, subID: s.state.ID });
    };

    for (const id of subIDs) {
      const p = ch.subs.get(id) as SubProjection;
      const w: WorkSub = { state: copySub(p.state), pending: p.pending, redelivered: p.redelivered };
      const st = w.state;
      if (st.qGroup !== '') {
        const isShadow = st.isDurable && st.clientID === '';
        if (isShadow || isOnline(state, st)) kept.set(id, w);
        else {
          const ghosts = ghostsByGroup.get(st.qGroup);
          if (ghosts) ghosts.push(w);
          else ghostsByGroup.set(st.qGroup, [w]);
        }
      } else if (st.isDurable) {
        if (!st.isClosed && !isOnline(state, st)) {
          st.isClosed = true;
          cleanup.push({ kind: EventKind.SubUpdated, channelID, sub: copySub(st) });
        }
        kept.set(id, w);
      } else if (isOnline(state, st)) {
        kept.set(id, w);
      } else {
        drop(w);
      }
    }

    for (const [group, ghosts] of ghostsByGroup) {
      // The survivor that inherits the ghosts' pending sequences and position: the first
      // online member, else the durable group's shadow (existing or made from a ghost).
      let target: WorkSub | undefined;
      let shadow: WorkSub | undefined;
      for (const w of kept.values()) {
        if (w.state.qGroup !== group) continue;
        if (w.state.clientID === '') shadow ??= w;
        else {
          target = w;
          break;
        }
      }
      target ??= shadow;
      let rest = ghosts;
      let updateTarget = false;
      if (target === undefined) {
        if (!ghosts[0].state.isDurable) {
          // Non-durable group whose members all left: the group is gone (§3.6).
          for (const g of ghosts) drop(g);
          continue;
        }
        target = ghosts[0];
        target.state.clientID = '';
        kept.set(target.state.ID, target);
        rest = ghosts.slice(1);
        updateTarget = true;
      }
      const moved: number[] = [];
      let lastSent = target.state.lastSent;
      for (const g of rest) {
        for (const seq of g.pending) if (!target.pending.has(seq)) moved.push(seq);
        target.redelivered = mergeCounts(target.redelivered, g.redelivered);
        if (g.state.lastSent > lastSent) lastSent = g.state.lastSent;
        drop(g);
      }
      if (moved.length > 0) {
        moved.sort((a, b) => a - b);
        // A new Set: the target's pending set may still be the projection's own.
        target.pending = new Set([...target.pending, ...moved]);
        cleanup.push({ kind: EventKind.MsgsSent, channelID, subID: target.state.ID, seqs: moved });
        // MsgsSent raises lastSent to its highest sequence when folded: mirror it here.
        if (moved[moved.length - 1] > lastSent) lastSent = moved[moved.length - 1];
      }
      if (lastSent > target.state.lastSent) {
        target.state.lastSent = lastSent;
        updateTarget = true;
      }
      if (updateTarget) cleanup.push({ kind: EventKind.SubUpdated, channelID, sub: copySub(target.state) });
    }

    const subs: RecoveredSub[] = [];
    for (const id of subIDs) {
      const w = kept.get(id);
      if (w === undefined) continue;
      const rs: RecoveredSub = { state: w.state, pending: w.pending.size === 0 ? [] : [...w.pending].sort((a, b) => a - b) };
      if (w.redelivered !== undefined && w.redelivered.size > 0) rs.redeliveries = new Map(w.redelivered);
      subs.push(rs);
    }
    channels.push({
      channelID: ch.id,
      name: ch.name,
      firstSeq: ch.firstSeq,
      lastSeq: ch.lastSeq,
      msgCount: ch.msgCount,
      byteCount: ch.byteCount,
      subs,
      ...(ch.deadLettered ? { deadLettered: ch.deadLettered } : {}),
    });
  }

  const clients: ClientInfo[] = [];
  for (const c of state.clients.values()) clients.push({ ...c, ConnID: new Uint8Array(c.ConnID) });
  return {
    info: { ...state.serverInfo },
    clients,
    channels,
    dropped,
    cleanup,
  };
}
