/**
 * The store contract the STAN core talks to, implemented by MEMORY (src/store/memory.ts) and
 * the event-sourced SQL store (src/store/sql/: PostgreSQL, MySQL/MariaDB, SQLite for
 * `-store file`). Capabilities only some stores have (write fencing for FT, commit
 * observation for metrics, a health probe) are declared below as their own interfaces with a
 * type guard each: callers ask `isFencedStore(store)` instead of casting or testing a class.
 * New capabilities go the same way: an interface, a guard, no change to `Store`.
 *
 * Shape of the contract, and why:
 *  - Every mutation is a synchronous *record* call. A persistent store appends it to its
 *    pending event batch; the memory store applies it at once.
 *  - `commit()` resolves once everything recorded before the call is durable. Many callers
 *    awaiting `commit()` concurrently share one transaction: that is the group commit. The
 *    server sends a PubAck only after the commit that covers the message resolved.
 *  - Reads the delivery hot path needs are synchronous when the data is in memory
 *    (`lookupCached`), with an async fallback for stores that keep only a window cached.
 */
import type { ChannelLimits, StoreLimits } from '../config/options';
import type { ClientInfo, ServerInfo, SubState } from '../protocol/codec';
import type { StoreType } from '../config/options';
import { StanServerError } from '../errors';

export type { StoreType };

/** A stored message, kept in its wire form so delivery never re-encodes it. */
export interface StoredMsg {
  seq: number;
  /** Unix nanoseconds (see MsgProto.timestamp). */
  timestamp: number;
  /** Marshalled MsgProto with redelivered=false; its length is the message size for limits. */
  bytes: Uint8Array;
}

/** What the server hands to MsgStore.store(); sequence and timestamp are assigned by the server. */
export interface NewMsg {
  seq: number;
  timestamp: number;
  subject: string;
  reply: string;
  data: Uint8Array;
  /**
   * The exact timestamp (ns) when it does not fit a double (`timestamp` is then its rounded
   * value, used for limits and time-based starts): the stored MsgProto carries this one, so
   * clients get the nanoseconds as they were. Set by the import only (reference timestamps).
   */
  timestampNs?: bigint;
}

export interface MsgStore {
  /** First available sequence; 0 when the channel never had a message. */
  readonly firstSeq: number;
  /** Last stored sequence; 0 when the channel never had a message. */
  readonly lastSeq: number;
  /** Number of messages currently stored. */
  readonly msgCount: number;
  /** Total size of stored messages (sum of StoredMsg.bytes lengths). */
  readonly byteCount: number;
  /**
   * Timestamp (ns) of the newest stored message, 0 when none: after a restart (or an FT
   * takeover on a host whose clock is behind) new timestamps continue from it, never below.
   */
  readonly lastTimestamp: number;
  /**
   * Record a message (seq must be lastSeq+1; a seq <= lastSeq is ignored) and apply the
   * channel's count/bytes limits by dropping the oldest messages (always keeping the newest).
   * Returns the stored form. Neither store() nor append() keeps `msg` or its `data` after
   * returning (the publish path refills one object for every message).
   */
  store(msg: NewMsg): StoredMsg;
  /**
   * Optional: as store(), without building the stored form. The publish path ignores what
   * store() returns, and building it cost an object and a Buffer view per published message.
   */
  append?(msg: NewMsg): void;
  /**
   * Synchronous lookup: the message, `undefined` if it is not in the store (never was, or
   * removed by limits), or `null` when the store does not hold it in memory and `lookup()`
   * must be used.
   */
  lookupCached(seq: number): StoredMsg | undefined | null;
  lookup(seq: number): Promise<StoredMsg | undefined>;
  /** First sequence whose timestamp >= ts (ns); lastSeq+1 if none. */
  firstSeqAtOrAfter(ts: number): Promise<number>;
  /**
   * After the commit that covered message `seq`: why the store refused to keep it (its
   * publisher gets this error), once; undefined when it was stored. Stores that never
   * refuse a single message (MEMORY) do not implement it.
   */
  takeRefusal?(seq: number): string | undefined;
  /**
   * Import only, on a channel that has no message yet: its numbering continues after
   * `lastSeq` with no message stored (first = lastSeq + 1), as a channel whose messages all
   * expired. Recorded as the MsgsExpired event the retention itself would record.
   */
  continueAfter(lastSeq: number): void;
  /**
   * Drops what the store keeps in memory about recently stored messages (copies for delivery,
   * sizes and timestamps for limits), so that they are treated like messages recovered at
   * start-up (read from, and aged by, the store). The import calls it after each batch so its
   * memory does not grow with the number or size of channels; the MEMORY store, which holds
   * every message by design, does nothing.
   */
  forgetRecent(): void;
}

export interface SubStore {
  /** Assigns state.ID (unique within the store) and records the subscription. */
  createSub(state: SubState): void;
  updateSub(state: SubState): void;
  deleteSub(id: number): void;
  addSeqPending(id: number, seq: number): void;
  ackSeqPending(id: number, seq: number): void;
  /**
   * `seq` was redelivered to subscription `id`, `count` times so far (max deliveries only,
   * see docs/dead-letters.md). Optional: a store without it (MEMORY) recovers nothing anyway.
   */
  addSeqRedelivered?(id: number, seq: number, count: number): void;
  /**
   * `seq` reached max deliveries after `deliveries` and leaves subscription `id`'s pending
   * set. Optional: without it the server records a plain ack (ackSeqPending).
   */
  deadLetterSeq?(id: number, seq: number, deliveries: number): void;
  /** Stored subscriptions of this channel (incl. offline durables and shadows); for max_subs. */
  readonly subCount: number;
}

export interface ChannelStore {
  readonly name: string;
  /** Effective limits of this channel (after inheritance). */
  readonly limits: ChannelLimits;
  readonly msgs: MsgStore;
  readonly subs: SubStore;
}

export interface RecoveredSub {
  state: SubState;
  /** Sequences sent but not acknowledged, ascending (read-only: may be shared when empty). */
  pending: readonly number[];
  /** Redeliveries so far per pending sequence (only recorded with max deliveries). */
  redeliveries?: ReadonlyMap<number, number>;
}

export interface RecoveredChannel {
  channel: ChannelStore;
  subs: RecoveredSub[];
  /** Messages that reached max deliveries so far (docs/dead-letters.md). */
  deadLettered?: number;
}

export interface RecoveredState {
  info: ServerInfo;
  clients: ClientInfo[];
  channels: RecoveredChannel[];
}

/** Error with a message that is sent verbatim to clients (e.g. `too many channels`). */
export class StoreError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * The store cannot write until someone fixes the database (SQL store: a table missing, a
 * privilege revoked): the store reports the incident itself (onError, /readyz), so callers
 * need not log each refused request.
 */
export class StoreUnavailableError extends StoreError {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

export const ERR_TOO_MANY_CHANNELS = 'too many channels';
export const ERR_TOO_MANY_SUBS = 'too many subscriptions per channel';

/** The max_channels rule every store applies before creating a channel (0 = unlimited). */
export function checkChannelRoom(maxChannels: number, channelCount: number): void {
  if (maxChannels > 0 && channelCount >= maxChannels) throw new StoreError(ERR_TOO_MANY_CHANNELS);
}

/**
 * Which reference store an import filled this store from, and whether it finished
 * (src/import/resume.ts). Persistent stores keep it in `stan_import` (migration 0003).
 */
export interface ImportMarker {
  /** Identifies the source (its stored server info and channels), see src/import/resume.ts. */
  fingerprint: string;
  /** Human-readable source (directory, or driver and database), for messages. */
  source: string;
  status: 'running' | 'complete';
}

export interface Store {
  readonly type: StoreType;
  readonly limits: StoreLimits;
  /**
   * Largest encoded message (MsgProto bytes) the store can write, when it has a bound below
   * what NATS can carry (MySQL/MariaDB: max_allowed_packet); undefined = no such bound.
   */
  readonly maxMessageBytes?: number;
  /**
   * Load persisted state. Returns null when the store is empty (first start). A persistent
   * store refuses (throws) data that belongs to another cluster ID.
   */
  recover(): Promise<RecoveredState | null>;
  /** Record the server info (first start, or after a subject back-fill). */
  init(info: ServerInfo): void;
  addClient(info: ClientInfo): void;
  deleteClient(id: string): void;
  /**
   * Create a channel with its effective limits. Throws StoreError(`too many channels`) when
   * max_channels is reached.
   */
  createChannel(name: string): ChannelStore;
  lookupChannel(name: string): ChannelStore | undefined;
  deleteChannel(name: string): void;
  readonly channelCount: number;
  /** Resolves when every mutation recorded before the call is durable. */
  commit(): Promise<void>;
  /** The import marker, undefined when the store was never the target of an import. */
  readImportMarker(): Promise<ImportMarker | undefined>;
  /** Writes (replaces) the import marker at once, outside the group commit. */
  writeImportMarker(marker: ImportMarker): Promise<void>;
  /**
   * Called by the store when max_age removed messages or a background error happened,
   * so the server can log it; optional hook set by the server.
   */
  onError?: (err: Error) => void;
  /**
   * Called after each successful commit: rows, events, seconds taken. Only stores that group
   * commits call it (see CommitObservable); setting it on others is harmless.
   */
  onCommit?: (rows: number, events: number, seconds: number) => void;
  close(): Promise<void>;
}

/**
 * The one cluster-ID rule: a store holding data of another cluster is refused, with the fix.
 * `stored` is the cluster ID found in the store, `configured` the one this server runs with.
 */
export function checkClusterID(stored: string, configured: string, where = 'database'): void {
  if (stored === configured) return;
  throw new StoreError(`this ${where} belongs to the STAN cluster "${stored}", not "${configured}": use -cid ${stored}, or another ${where} for this cluster`);
}

// ------------------------------------------------------------------ optional capabilities

/**
 * A store whose writes can be fenced (FT): `fence` runs first in every write transaction and
 * throws unless this server still holds the FT lease, so a deposed server's commit fails.
 * The fence receives the store's own transaction handle (`tx`), which only the lease code of
 * the same database family knows how to use; the contract keeps it opaque.
 */
export interface FencedStore extends Store {
  /**
   * `statement`: the same fence as SQL text, for a store that commits on a connection the
   * caller's code cannot reach (the FILE store's write thread) or without the caller's
   * transaction objects (the SQL stores' direct group commits, direct-tx.ts); without it such
   * a store commits fenced writes through `fence`.
   */
  setFence(fence: (tx: FenceTransaction) => Promise<void>, statement?: FenceStatementSource): void;
}
/** A fence as one statement that must change exactly one row, and the error when it changes none. */
export interface FenceStatementSource {
  statement(): FenceText;
  lost(): Error;
}
/** The fence's UPDATE as text, for the driver that runs it. */
export interface FenceText {
  /** With the driver's own placeholders (`?`, PostgreSQL `$1`), and its bindings. */
  sql: string;
  bindings: Array<string | number>;
  /** The same UPDATE with the values written in (escaped by Knex): for a multi-statement simple query. */
  literal: string;
  /** The idle-transaction guard to run before it in the transaction, when the database has one. */
  guard?: string;
}
/** The write transaction handed to a fence: opaque here (SQL stores pass a Knex transaction). */
export type FenceTransaction = object;

export function isFencedStore(store: Store): store is FencedStore {
  return typeof (store as Partial<FencedStore>).setFence === 'function';
}

/** How a store that follows its log reports (the caller's logger, with its prefix). */
export interface LogFollowReport {
  notice(line: string): void;
  warn(line: string): void;
}

/**
 * A store that can keep its state warm while this server waits for the FT/clustering lease:
 * `followLog` starts tailing the committed event log every `intervalMs`; the next `recover()`
 * stops following and replays only what was written since the last poll (or recovers in full
 * when the followed state cannot be trusted, and says why through `report`).
 */
export interface LogFollowingStore extends Store {
  followLog(o: { intervalMs: number; report: LogFollowReport }): void;
}

export function isLogFollowingStore(store: Store): store is LogFollowingStore {
  return typeof (store as Partial<LogFollowingStore>).followLog === 'function';
}

/** A store that groups writes into commits and reports each one (for metrics). */
export interface CommitObservable extends Store {
  /** Marker: this store calls onCommit (MEMORY, which never commits anything, does not). */
  readonly groupCommits: true;
}

export function isCommitObservable(store: Store | undefined): store is CommitObservable {
  return store !== undefined && (store as Partial<CommitObservable>).groupCommits === true;
}

/** A store with a readiness probe (/readyz). */
export interface HealthCheckedStore extends Store {
  /**
   * For /readyz: why the store cannot serve now (database unreachable, commits failing), or
   * undefined when it can. Persistent stores only; cheap enough to call per probe.
   */
  checkHealth(): Promise<string | undefined>;
}

export function isHealthChecked(store: Store | undefined): store is HealthCheckedStore {
  return store !== undefined && typeof (store as Partial<HealthCheckedStore>).checkHealth === 'function';
}

/**
 * A message store that removes messages on request (admin purge): every message below
 * `beforeSeq` goes, the channel keeps its last sequence (an emptied channel reports
 * first = last + 1, as after max_age). Persistent stores record it as a MsgsExpired event,
 * so the removal survives a restart and FT standbys see it. The caller makes sure every
 * message below `beforeSeq` is committed first. Resolves to the number of sequences removed.
 */
export interface PurgeableMsgStore extends MsgStore {
  purgeBefore(beforeSeq: number): Promise<number>;
}

export function isPurgeableMsgStore(m: MsgStore): m is PurgeableMsgStore {
  return typeof (m as Partial<PurgeableMsgStore>).purgeBefore === 'function';
}

/**
 * A subscription store that records an operator's reset of a durable's position (admin API):
 * lastSent set exactly (backwards too) and nothing pending. Persistent stores record a
 * SubPositionReset event.
 */
export interface ResettableSubStore extends SubStore {
  resetPosition(id: number, lastSent: number): void;
}

export function isResettableSubStore(s: SubStore): s is ResettableSubStore {
  return typeof (s as Partial<ResettableSubStore>).resetPosition === 'function';
}

/**
 * Message rows in columns (the import's batches, src/import/reference/msg-batch.ts): row i is
 * the marshalled MsgProto as MsgStore.store would encode it, bytes data[ends[i-1]..ends[i]).
 */
export interface BulkMessages {
  readonly count: number;
  readonly seqs: Float64Array;
  /** Nanoseconds as doubles (NewMsg.timestamp). */
  readonly timestamps: Float64Array;
  readonly ends: Uint32Array;
  readonly data: Buffer;
}

/**
 * A store that appends a batch of a channel's messages in one write (the import): the same
 * rows, log and state as storing and committing them one by one, written the database's
 * fastest way (PostgreSQL COPY, wide INSERTs). `appendBulk` answers false, having done nothing,
 * when that would not be exactly the same (limits would drop messages, encryption, a row too
 * large): the caller then stores them one by one. Ascending sequences above the channel's
 * last. Appends to different channels may run at the same time; nothing else may be recorded
 * on the store while they run.
 */
export interface BulkAppendStore extends Store {
  /** How many channels are best appended at the same time (the database's sessions in parallel). */
  readonly bulkLanes: number;
  appendBulk(channel: ChannelStore, rows: BulkMessages): Promise<boolean>;
}

export function isBulkAppendStore(store: Store): store is BulkAppendStore {
  return typeof (store as Partial<BulkAppendStore>).appendBulk === 'function';
}
