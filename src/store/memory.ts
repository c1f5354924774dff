/**
 * The MEMORY store: everything lives in the process; nothing survives a restart.
 *
 * Records are applied at once, so `commit()` has nothing to wait for and returns one shared
 * resolved promise (no allocation per publish).
 *
 * Messages are kept per channel in a MsgRing (limits/msg-ring.ts) indexed by `seq - firstSeq`:
 * O(1) append, O(1) drop of the oldest, O(1) lookup. Only the encoded bytes (written straight
 * into the ring's chunks) and the timestamp are kept per message, the sequence being implied
 * by the position, because this store holds every message (benchmarks: 100k–1M).
 */
import type { ChannelLimits, StoreLimits } from '../config/options';
import { encodeMsgProto, encodeMsgProtoInto, msgProtoSize } from '../protocol/fast';
import { MSG_RING_GAP, MsgRing } from './limits/msg-ring';
import { sharedChunkBudget } from './limits/shared-chunk-budget';
import { type ClientInfo, type ServerInfo, type SubState } from '../protocol/codec';
import { limitsResolver, validateStoreLimits } from './limits/limits';
import { ageCutoffNs, exceedsCountLimits, isAgeExpired } from './limits/policy';
import { firstReaching } from './limits/first-reaching';
import {
  checkChannelRoom,
  ERR_TOO_MANY_SUBS,
  StoreError,
  type ChannelStore,
  type ImportMarker,
  type MsgStore,
  type NewMsg,
  type RecoveredState,
  type Store,
  type StoredMsg,
  type SubStore,
} from './contract';
import { toError } from '../errors';

export interface MemoryStoreOptions {
  /** Wall clock in ms; injectable so tests can drive max_age deterministically. */
  now?: () => number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Callbacks a channel's message store needs from its owning store. */
interface MsgStoreHooks {
  now: () => number;
  error: (err: Error) => void;
}

/**
 * Message store of one channel.
 *
 * Sequence semantics (as the reference memstore):
 *  - never had a message: firstSeq = lastSeq = 0;
 *  - otherwise firstSeq is the oldest stored sequence, and once every message has expired
 *    (max_age) firstSeq = lastSeq + 1, so that `lastSeq - firstSeq + 1` is the count and
 *    the next stored message becomes the first. Count/bytes limits never empty a channel.
 *
 * The server assigns contiguous sequences; should a gap ever appear (seq > lastSeq+1) the
 * missing sequences are kept as empty slots (lookups return undefined) so that indexing
 * stays O(1). The slot at the head is always a real message when msgCount > 0.
 */
export class MemoryMsgStore implements MsgStore {
  private _firstSeq = 0;
  private _lastSeq = 0;
  private _msgCount = 0;
  private _byteCount = 0;
  /**
   * Encoded messages and their timestamps; a gap slot repeats the previous timestamp. Its
   * length (messages + gaps) is lastSeq - firstSeq + 1 when non-empty.
   */
  /** Grown in shared chunks: this store keeps every message (msg-ring.ts, `growShared`). */
  private readonly ring = new MsgRing({ growShared: sharedChunkBudget });
  private ageTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly channel: string,
    private readonly limits: ChannelLimits,
    private readonly hooks: MsgStoreHooks,
  ) {}

  get firstSeq(): number {
    return this._firstSeq;
  }
  get lastSeq(): number {
    return this._lastSeq;
  }
  get lastTimestamp(): number {
    return this.ring.len === 0 ? 0 : this.ring.tsAt(this.ring.len - 1);
  }
  get msgCount(): number {
    return this._msgCount;
  }
  get byteCount(): number {
    return this._byteCount;
  }

  store(msg: NewMsg): StoredMsg {
    // Duplicate/old sequence: the contract says ignore. We still return the encoded form so
    // a caller replaying a batch gets a consistent value back.
    if (msg.seq <= this._lastSeq) return { seq: msg.seq, timestamp: msg.timestamp, bytes: encodeMsgProto(msg.seq, msg.subject, msg.reply, msg.data, msg.timestampNs ?? msg.timestamp) };
    this.append(msg);
    // The message just appended is the ring's last slot (limits drop only older ones).
    return { seq: msg.seq, timestamp: msg.timestamp, bytes: this.ring.bytesAt(this.ring.len - 1)! };
  }

  append(msg: NewMsg): void {
    if (msg.seq <= this._lastSeq) return;
    const ts = msg.timestampNs ?? msg.timestamp;
    const ring = this.ring;
    if (ring.len === 0) {
      // Empty (never used, or everything expired): the new message starts the ring.
      this._firstSeq = msg.seq;
    } else if (msg.seq > this._lastSeq + 1) {
      // Only a gap needs the previous timestamp (read per message, it was a boxed number each time).
      const prevTs = ring.tsAt(ring.len - 1);
      for (let s = this._lastSeq + 1; s < msg.seq; s++) ring.appendGap(prevTs);
    }
    const size = msgProtoSize(msg.seq, msg.subject, msg.reply, msg.data, ts);
    const chunk = ring.append(size, msg.timestamp);
    const off = ring.lastOffset;
    encodeMsgProtoInto(chunk, off, msg.seq, msg.subject, msg.reply, msg.data, ts);
    this._lastSeq = msg.seq;
    this._msgCount++;
    this._byteCount += size;
    this.enforceCountLimits();
    if (this.limits.maxAge > 0 && this.ageTimer === undefined && !this.closed) this.armAgeTimer();
  }

  forgetRecent(): void {
    // Every message lives in memory here: there is nothing to forget.
  }

  continueAfter(lastSeq: number): void {
    if (this._lastSeq !== 0 || this.ring.len !== 0) throw new Error('internal: continueAfter on a channel that has messages');
    this._lastSeq = lastSeq;
    this._firstSeq = lastSeq + 1;
  }

  lookupCached(seq: number): StoredMsg | undefined {
    if (seq < this._firstSeq || seq > this._lastSeq || this.ring.len === 0) return undefined;
    const k = seq - this._firstSeq;
    const bytes = this.ring.bytesAt(k);
    return bytes === undefined ? undefined : { seq, timestamp: this.ring.tsAt(k), bytes };
  }

  lookup(seq: number): Promise<StoredMsg | undefined> {
    return Promise.resolve(this.lookupCached(seq));
  }

  /** Synchronous form of firstSeqAtOrAfter (the data is in memory). */
  firstSeqAtOrAfterSync(ts: number): number {
    // Over the ring: timestamps are non-decreasing in sequence order.
    const i = firstReaching(0, this.ring.len, (k) => this.ring.tsAt(k) >= ts);
    if (i === this.ring.len) return this._lastSeq + 1;
    return this._firstSeq + i;
  }

  firstSeqAtOrAfter(ts: number): Promise<number> {
    return Promise.resolve(this.firstSeqAtOrAfterSync(ts));
  }

  /**
   * Removes the messages older than max_age (by their timestamp) and re-arms the timer for
   * the next oldest one. Called by the timer; public so tests can drive it with an
   * injected clock. Returns the number of removed messages.
   */
  expire(): number {
    // A manual call while the timer is armed must not leave two timers running.
    if (this.ageTimer !== undefined) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
    const maxAge = this.limits.maxAge;
    if (maxAge <= 0 || this.closed) return 0;
    const cutoffNs = ageCutoffNs(this.hooks.now() * 1e6, maxAge);
    let removed = 0;
    while (this._msgCount > 0 && isAgeExpired(this.ring.tsAt(0), cutoffNs)) {
      this.removeFirst();
      removed++;
    }
    if (this._msgCount === 0) {
      // Reference behaviour: an expired-empty channel reports first = last + 1.
      this._firstSeq = this._lastSeq + 1;
    }
    if (this._msgCount > 0) this.armAgeTimer();
    return removed;
  }

  /** Stops the age timer (channel deleted or store closed). */
  close(): void {
    this.closed = true;
    if (this.ageTimer !== undefined) clearTimeout(this.ageTimer);
    this.ageTimer = undefined;
  }

  private armAgeTimer(): void {
    const oldestMs = this.ring.tsAt(0) / 1e6;
    // A timestamp in the future (clock skew) simply yields a longer delay; clamp to >= 0.
    const delay = Math.max(0, oldestMs + this.limits.maxAge - this.hooks.now());
    const t = setTimeout(() => {
      try {
        this.expire();
      } catch (err) {
        this.hooks.error(toError(err));
      }
    }, Math.ceil(delay));
    // Never keep the process alive for expiry alone.
    t.unref();
    this.ageTimer = t;
  }

  private enforceCountLimits(): void {
    // Always keep the newest message, even if alone it exceeds max_bytes. The server logs
    // the reference's "Reached limits" notice (server/limit-notice.ts), for every store.
    while (exceedsCountLimits(this._msgCount, this._byteCount, this.limits)) this.removeFirst();
  }

  /** Drops the head message, then any gap slots so the head is a real message again. */
  /** Admin purge (PurgeableMsgStore): everything is in memory, so this is immediate. */
  purgeBefore(beforeSeq: number): Promise<number> {
    const end = Math.min(beforeSeq, this._lastSeq + 1);
    const first = this._firstSeq;
    while (this.ring.len > 0 && this._firstSeq < end) this.removeFirst();
    if (this._msgCount === 0) this._firstSeq = this._lastSeq + 1;
    return Promise.resolve(Math.max(0, this._firstSeq - first));
  }

  private removeFirst(): void {
    const ring = this.ring;
    const size = ring.shift();
    if (size !== MSG_RING_GAP) {
      this._msgCount--;
      this._byteCount -= size;
    }
    this._firstSeq++;
    while (ring.len > 0 && ring.sizeAt(0) === MSG_RING_GAP) {
      ring.shift();
      this._firstSeq++;
    }
  }
}

/**
 * Subscriptions of one channel. The server keeps the live subscription state (pending,
 * acks), so the memory store only assigns IDs and counts stored subscriptions for
 * max_subs; update/pending/ack records are no-ops.
 */
export class MemorySubStore implements SubStore {
  private readonly ids = new Set<number>();

  constructor(
    private readonly limits: ChannelLimits,
    private readonly nextId: () => number,
  ) {}

  get subCount(): number {
    return this.ids.size;
  }

  createSub(state: SubState): void {
    const max = this.limits.maxSubscriptions;
    if (max > 0 && this.ids.size >= max) throw new StoreError(ERR_TOO_MANY_SUBS);
    state.ID = this.nextId();
    this.ids.add(state.ID);
  }

  updateSub(_state: SubState): void {
    // Nothing to persist: the server holds the state.
  }

  resetPosition(_id: number, _lastSent: number): void {
    // Nothing to persist: the server holds the position.
  }

  /** Idempotent: deleting an unknown id does not change the count. */
  deleteSub(id: number): void {
    this.ids.delete(id);
  }

  addSeqPending(_id: number, _seq: number): void {
    // Nothing to persist.
  }

  ackSeqPending(_id: number, _seq: number): void {
    // Nothing to persist.
  }
}

class MemoryChannelStore implements ChannelStore {
  readonly msgs: MemoryMsgStore;
  readonly subs: MemorySubStore;

  constructor(
    readonly name: string,
    readonly limits: ChannelLimits,
    hooks: MsgStoreHooks,
    nextSubId: () => number,
  ) {
    this.msgs = new MemoryMsgStore(name, limits, hooks);
    this.subs = new MemorySubStore(limits, nextSubId);
  }
}

export class MemoryStore implements Store {
  readonly type = 'MEMORY' as const;
  readonly limits: StoreLimits;
  onError?: (err: Error) => void;

  private readonly channels = new Map<string, MemoryChannelStore>();
  private lastSubId = 0;
  private readonly hooks: MsgStoreHooks;

  constructor(limits: StoreLimits, opts: MemoryStoreOptions = {}) {
    validateStoreLimits(limits);
    this.limits = limits;
    this.hooks = {
      now: opts.now ?? Date.now,
      error: (err) => this.onError?.(err),
    };
  }

  recover(): Promise<RecoveredState | null> {
    return Promise.resolve(null);
  }

  init(_info: ServerInfo): void {
    // Nothing survives a restart, so there is nothing to record.
  }

  addClient(_info: ClientInfo): void {
    // The server keeps its client registry; nothing to persist.
  }

  deleteClient(_id: string): void {
    // See addClient.
  }

  createChannel(name: string): ChannelStore {
    if (this.channels.has(name)) throw new StoreError('already exists');
    checkChannelRoom(this.limits.maxChannels, this.channels.size);
    const limits = limitsResolver(this.limits).resolve(name);
    const ch = new MemoryChannelStore(name, limits, this.hooks, () => ++this.lastSubId);
    this.channels.set(name, ch);
    return ch;
  }

  lookupChannel(name: string): ChannelStore | undefined {
    return this.channels.get(name);
  }

  deleteChannel(name: string): void {
    const ch = this.channels.get(name);
    if (!ch) return;
    ch.msgs.close();
    this.channels.delete(name);
  }

  get channelCount(): number {
    return this.channels.size;
  }

  commit(): Promise<void> {
    return RESOLVED;
  }

  /** Kept for the process lifetime only, like everything in this store. */
  private importMarker: ImportMarker | undefined;

  readImportMarker(): Promise<ImportMarker | undefined> {
    return Promise.resolve(this.importMarker);
  }

  writeImportMarker(marker: ImportMarker): Promise<void> {
    this.importMarker = { ...marker };
    return RESOLVED;
  }

  close(): Promise<void> {
    for (const ch of this.channels.values()) ch.msgs.close();
    return RESOLVED;
  }
}
