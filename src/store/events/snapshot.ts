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
import { ByteReader, ByteWriter, EventDecodeError, readSubState, writeSubState } from './event-codec';
import type { ChannelProjection, ProjectedState, SubProjection } from './projection';
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
  const r = new ByteReader(bytes, 'snapshot');
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
        const sub: SubProjection = { state: readSubState(r), pending: new Set(r.seqs()) };
        ch.subs.set(sub.state.ID, sub);
      }
      state.channels.set(ch.id, ch);
      state.channelIDsByName.set(ch.name, ch.id);
    }
    if (r.more()) throw new SnapshotFormatError(`snapshot has ${bytes.length - r.offset} unexpected trailing bytes`);
    return state;
  } catch (err) {
    if (err instanceof EventDecodeError) throw new SnapshotFormatError(`corrupt snapshot: ${err.message}`);
    throw err;
  }
}
