/**
 * What the server needs at start, from the projection of the event log (projection.ts):
 * `toRecovered(state)` applies the clean-up rule for subscriptions whose client did not come
 * back and hands out copies (the server mutates what it recovers; the projection stays the
 * committed state). Pure like the projection: no I/O, no clock.
 */
import type { ClientInfo, ServerInfo, SubState } from '../../protocol/codec';
import type { RecoveredSub } from '../contract';
import { EventKind, type StoreEvent } from './events';
import { copySub, type ChannelProjection, type ProjectedState, type SubProjection } from './projection';

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

/** Pending sequences no recovered subscription shares with another: never written to. */
const NO_SEQS: readonly number[] = Object.freeze([]);

/**
 * The recovered copy of one projected subscription (the server mutates its SubState; the
 * projection keeps the committed one). Created once per subscription, and only for kept ones:
 * no intermediate working object (60,000 recovered subscriptions made 60,000 of each).
 */
function recoveredSub(p: SubProjection): RecoveredSub {
  const rs: RecoveredSub = { state: copySub(p.state), pending: p.pending.size === 0 ? NO_SEQS : [...p.pending].sort((a, b) => a - b) };
  if (p.redelivered !== undefined && p.redelivered.size > 0) rs.redeliveries = new Map(p.redelivered);
  return rs;
}

/** The projected subscriptions of `ch` in ascending ID order (Map order is insertion order). */
function byAscendingID(ch: ChannelProjection): SubProjection[] {
  const out = [...ch.subs.values()];
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1].state.ID > out[i].state.ID) return out.sort((a, b) => a.state.ID - b.state.ID);
  }
  return out;
}

/**
 * First pass of the clean-up rule over one channel: the subscriptions kept as they are (by
 * ascending ID; offline plain durables closed), plain non-durables without their client
 * dropped, and queue members without their client set aside per group ("ghosts").
 */
function keptAndGhosts(
  state: ProjectedState,
  ch: ChannelProjection,
  cleanup: StoreEvent[],
  dropped: { channelID: number; subID: number }[],
): { subs: RecoveredSub[]; ghostsByGroup: Map<string, SubProjection[]> } {
  const channelID = ch.id;
  const subs: RecoveredSub[] = [];
  const ghostsByGroup = new Map<string, SubProjection[]>();
  for (const p of byAscendingID(ch)) {
    const st = p.state;
    if (st.qGroup !== '') {
      const isShadow = st.isDurable && st.clientID === '';
      if (isShadow || isOnline(state, st)) subs.push(recoveredSub(p));
      else {
        const ghosts = ghostsByGroup.get(st.qGroup);
        if (ghosts) ghosts.push(p);
        else ghostsByGroup.set(st.qGroup, [p]);
      }
    } else if (st.isDurable) {
      const rs = recoveredSub(p);
      if (!st.isClosed && !isOnline(state, st)) {
        rs.state.isClosed = true;
        cleanup.push({ kind: EventKind.SubUpdated, channelID, sub: copySub(rs.state) });
      }
      subs.push(rs);
    } else if (isOnline(state, st)) {
      subs.push(recoveredSub(p));
    } else {
      dropped.push({ channelID, subID: st.ID });
      cleanup.push({ kind: EventKind.SubDeleted, channelID, subID: st.ID });
    }
  }
  return { subs, ghostsByGroup };
}

/**
 * Second pass: each group's ghosts leave it, their pending sequences and position going to
 * the group's first online member, else to its shadow (the existing one, or the lowest ghost
 * of a durable group turned into one and added to `subs`). Returns true when a shadow was
 * added (then `subs` is no longer in ID order).
 */
function mergeGhosts(
  channelID: number,
  subs: RecoveredSub[],
  ghostsByGroup: Map<string, SubProjection[]>,
  cleanup: StoreEvent[],
  dropped: { channelID: number; subID: number }[],
): boolean {
  const drop = (s: SubProjection): void => {
    dropped.push({ channelID, subID: s.state.ID });
    cleanup.push({ kind: EventKind.SubDeleted, channelID, subID: s.state.ID });
  };
  let added = false;
  for (const [group, ghosts] of ghostsByGroup) {
    let target: RecoveredSub | undefined;
    let shadow: RecoveredSub | undefined;
    for (const rs of subs) {
      if (rs.state.qGroup !== group) continue;
      if (rs.state.clientID === '') shadow ??= rs;
      else {
        target = rs;
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
      target = recoveredSub(ghosts[0]);
      target.state.clientID = '';
      subs.push(target);
      added = true;
      rest = ghosts.slice(1);
      updateTarget = true;
    }
    const has = new Set(target.pending);
    const moved: number[] = [];
    let lastSent = target.state.lastSent;
    let counts = target.redeliveries as Map<number, number> | undefined;
    for (const g of rest) {
      for (const seq of g.pending) if (!has.has(seq)) moved.push(seq);
      counts = mergeCounts(counts, g.redelivered);
      if (g.state.lastSent > lastSent) lastSent = g.state.lastSent;
      drop(g);
    }
    if (counts !== undefined && counts.size > 0) target.redeliveries = counts;
    if (moved.length > 0) {
      moved.sort((a, b) => a - b);
      // `moved` may name a sequence twice (two ghosts had it): the event folds it once.
      target.pending = [...new Set([...target.pending, ...moved])].sort((a, b) => a - b);
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
  return added;
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
    const { subs, ghostsByGroup } = keptAndGhosts(state, ch, cleanup, dropped);
    if (ghostsByGroup.size > 0 && mergeGhosts(ch.id, subs, ghostsByGroup, cleanup, dropped)) subs.sort((a, b) => a.state.ID - b.state.ID);
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
