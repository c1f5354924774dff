/**
 * Serialisation of the ProjectedState for `stan_snapshots.body`.
 *
 * Same primitives as the event bodies (event-codec.ts): varints, length-prefixed strings,
 * and pending sets as sorted sequences in run-length ranges of deltas, which is what makes a
 * snapshot of 100,000 subscriptions take a few megabytes and tens of milliseconds instead of
 * the JSON alternative's tens of megabytes.
 *
 * Layout (version 1):
 *   byte    format version (1)
 *   uint    lastEventID, nextChannelID, nextSubID
 *   byte    1 if server info follows, else 0; then its 9 strings (NodeID included)
 *   uint    client count; per client: ID, HbInbox, ConnID (bytes), Protocol, PingInterval,
 *           PingMaxOut (signed varints)
 *   uint    channel count; per channel: id, name, firstSeq, lastSeq, msgCount, byteCount,
 *           sub count; per sub: SubState (as in events), pending (sorted sequence list)
 *
 * Versioned rather than extensible: a snapshot is a cache of the log (the events it covers
 * are compacted away, but a server that cannot read it cannot safely start), so an unknown
 * version is refused with a clear error instead of being half-read. A future format gets a
 * new version byte and this decoder keeps reading the old ones.
 */
import { ByteReader, ByteWriter, EventDecodeError } from './byte-io';
import { readSubState, writeSubState } from './event-codec';
import type { ChannelProjection, ProjectedState, SubProjection } from './projection';
import { noPending } from './no-pending';
import { StanServerError } from '../../errors';

export const SNAPSHOT_VERSION = 1;

export class SnapshotFormatError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}

export function encodeSnapshot(state: ProjectedState): Buffer {
  // Start big enough for a typical state to avoid a few doublings of a growing buffer.
  const w = new ByteWriter(64 * 1024);
  w.byte(SNAPSHOT_VERSION);
  w.uint(state.lastEventID);
  w.uint(state.nextChannelID);
  w.uint(state.nextSubID);
  const info = state.serverInfo;
  if (info === undefined) w.byte(0);
  else {
    w.byte(1);
    w.string(info.ClusterID);
    w.string(info.Discovery);
    w.string(info.Publish);
    w.string(info.Subscribe);
    w.string(info.Unsubscribe);
    w.string(info.Close);
    w.string(info.SubClose);
    w.string(info.AcksSubs);
    w.string(info.NodeID);
  }
  w.uint(state.clients.size);
  for (const c of state.clients.values()) {
    w.string(c.ID);
    w.string(c.HbInbox);
    w.bytes(c.ConnID);
    w.sint(c.Protocol);
    w.sint(c.PingInterval);
    w.sint(c.PingMaxOut);
  }
  w.uint(state.channels.size);
  const scratch: number[] = [];
  for (const ch of state.channels.values()) {
    w.uint(ch.id);
    w.string(ch.name);
    w.uint(ch.firstSeq);
    w.uint(ch.lastSeq);
    w.uint(ch.msgCount);
    w.uint(ch.byteCount);
    w.uint(ch.subs.size);
    for (const sub of ch.subs.values()) {
      writeSubState(w, sub.state);
      // Sorted so consecutive sequences collapse into runs; one reused array, no garbage
      // per subscription beyond what sort needs.
      scratch.length = 0;
      for (const seq of sub.pending) scratch.push(seq);
      scratch.sort((a, b) => a - b);
      w.seqs(scratch);
    }
  }
  writeRedeliveries(w, state);
  return w.finish();
}

export function decodeSnapshot(bytes: Uint8Array): ProjectedState {
  if (bytes.length === 0) throw new SnapshotFormatError('snapshot is empty');
  const version = bytes[0];
  if (version !== SNAPSHOT_VERSION) {
    throw new SnapshotFormatError(
      `snapshot format version ${version} is not supported by this server (it reads version ${SNAPSHOT_VERSION}); ` +
        'it was written by a newer release: run that release, or delete the snapshot rows only if the events they cover were not compacted',
    );
  }
  const r = ByteReader.withText(bytes, 'snapshot');
  try {
    r.byte();
    const state: ProjectedState = {
      serverInfo: undefined,
      clients: new Map(),
      channels: new Map(),
      channelIDsByName: new Map(),
      lastEventID: r.uint(),
      nextChannelID: r.uint(),
      nextSubID: r.uint(),
    };
    if (r.byte() === 1) {
      state.serverInfo = {
        ClusterID: r.string(),
        Discovery: r.string(),
        Publish: r.string(),
        Subscribe: r.string(),
        Unsubscribe: r.string(),
        Close: r.string(),
        SubClose: r.string(),
        AcksSubs: r.string(),
        NodeID: r.string(),
      };
    }
    const clientCount = r.uint();
    for (let i = 0; i < clientCount; i++) {
      const ID = r.string();
      state.clients.set(ID, {
        ID,
        HbInbox: r.string(),
        ConnID: r.bytes(),
        Protocol: r.int32(),
        PingInterval: r.int32(),
        PingMaxOut: r.int32(),
      });
    }
    const names = new Interner();
    const channelCount = r.uint();
    for (let i = 0; i < channelCount; i++) {
      const ch: ChannelProjection = {
        id: r.uint(),
        name: r.string(),
        firstSeq: r.uint(),
        lastSeq: r.uint(),
        msgCount: r.uint(),
        byteCount: r.uint(),
        subs: new Map(),
      };
      const subCount = r.uint();
      for (let k = 0; k < subCount; k++) {
        const st = readSubState(r);
        st.clientID = names.intern(st.clientID);
        st.qGroup = names.intern(st.qGroup);
        st.durableName = names.intern(st.durableName);
        // Most subscriptions have nothing pending: no array for them (noSeqs).
        const sub: SubProjection = { state: st, pending: r.noSeqs() ? noPending() : pendingSet(r.seqs()) };
        ch.subs.set(sub.state.ID, sub);
      }
      state.channels.set(ch.id, ch);
      state.channelIDsByName.set(ch.name, ch.id);
    }
    if (r.more()) readRedeliveries(r, state);
    if (r.more()) throw new SnapshotFormatError(`snapshot has ${bytes.length - r.offset} unexpected trailing bytes`);
    return state;
  } catch (err) {
    if (err instanceof EventDecodeError) throw new SnapshotFormatError(`corrupt snapshot: ${err.message}`);
    throw err;
  }
}

/** A non-empty list read from the snapshot: the shared empty set when it was empty after all. */
function pendingSet(seqs: number[]): Set<number> {
  return seqs.length === 0 ? noPending() : new Set(seqs);
}

/**
 * One string object per distinct client ID, durable name and queue group, shared by all the
 * subscriptions that name it: 60,000 recovered subscriptions of 100 clients held 60,000
 * copies of their client IDs otherwise (the decoder makes a new string for every field).
 */
class Interner {
  private readonly seen = new Map<string, string>();
  intern(s: string): string {
    if (s === '') return s;
    const known = this.seen.get(s);
    if (known !== undefined) return known;
    this.seen.set(s, s);
    return s;
  }
}

/**
 * Max-deliveries state (docs/dead-letters.md) as an optional section after the channels,
 * written only when there is some: a snapshot of a server that does not use max deliveries
 * stays byte for byte what it was. Per subscription with redelivery counts: channel ID, sub
 * ID, the sequences (sorted) and their counts in the same order; then per channel with
 * dead-lettered messages: channel ID and that number.
 */
function writeRedeliveries(w: ByteWriter, state: ProjectedState): void {
  const withCounts: { channelID: number; sub: SubProjection }[] = [];
  const deadLettered: ChannelProjection[] = [];
  for (const ch of state.channels.values()) {
    if (ch.deadLettered) deadLettered.push(ch);
    for (const sub of ch.subs.values()) if (sub.redelivered !== undefined && sub.redelivered.size > 0) withCounts.push({ channelID: ch.id, sub });
  }
  if (withCounts.length === 0 && deadLettered.length === 0) return;
  w.uint(withCounts.length);
  for (const { channelID, sub } of withCounts) {
    const counts = sub.redelivered as Map<number, number>;
    const seqs = [...counts.keys()].sort((a, b) => a - b);
    w.uint(channelID);
    w.uint(sub.state.ID);
    w.seqs(seqs);
    for (const seq of seqs) w.uint(counts.get(seq) ?? 0);
  }
  w.uint(deadLettered.length);
  for (const ch of deadLettered) {
    w.uint(ch.id);
    w.uint(ch.deadLettered ?? 0);
  }
}

function readRedeliveries(r: ByteReader, state: ProjectedState): void {
  const n = r.uint();
  if (n === 0 && !r.more()) throw new SnapshotFormatError('snapshot has unexpected trailing bytes (not a max-deliveries section)');
  for (let i = 0; i < n; i++) {
    const channelID = r.uint();
    const subID = r.uint();
    const seqs = r.seqs();
    const counts = new Map<number, number>();
    for (const seq of seqs) counts.set(seq, r.uint());
    const sub = state.channels.get(channelID)?.subs.get(subID);
    if (sub === undefined) throw new SnapshotFormatError(`corrupt snapshot: redelivery counts for unknown subscription ${subID} of channel ${channelID}`);
    sub.redelivered = counts;
  }
  const m = r.uint();
  // The writer leaves the section out rather than writing an empty one.
  if (n === 0 && m === 0) throw new SnapshotFormatError('snapshot has unexpected trailing bytes (an empty max-deliveries section)');
  for (let i = 0; i < m; i++) {
    const channelID = r.uint();
    const count = r.uint();
    const ch = state.channels.get(channelID);
    if (ch === undefined) throw new SnapshotFormatError(`corrupt snapshot: dead-letter count for unknown channel ${channelID}`);
    ch.deadLettered = count;
  }
}
