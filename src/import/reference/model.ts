/**
 * The intermediate model: what the reference server would restore at its next start, read from
 * either of its stores (FILE directory or SQL tables), after its recovery rules (reference-
 * stores.md §2.7 and §4.3) are applied. Plain readonly records: the import's writer side turns
 * them into our store's events without knowing which reference store they came from.
 *
 * Sequences and subscription IDs are numbers (they stay below 2^53); timestamps and durations
 * in nanoseconds are bigint because they do not fit a double exactly.
 */
import type { SkippedRecord } from './errors';
import type { MessageBatch } from './msg-batch';

/** Server info as stored (every subject kept as it is: old stores may hold NUID-based ones). */
export interface ReferenceServerInfo {
  readonly clusterId: string;
  readonly discoverSubject: string;
  readonly publishSubject: string;
  readonly subscribeSubject: string;
  readonly unsubscribeSubject: string;
  readonly closeSubject: string;
  /** Empty in stores written by old servers (the reference adds it at its next start). */
  readonly subCloseSubject: string;
  readonly ackSubject: string;
  /** Raft node ID; non-empty only for a clustered-mode store (§2.12). */
  readonly nodeId: string;
}

/** A client registered when the reference stopped (it restores these with heartbeat timers). */
export interface ReferenceClient {
  readonly id: string;
  readonly hbInbox: string;
  /** The client's connection ID bytes (the Go client sends its NUID as ASCII); may be empty. */
  readonly connId: Uint8Array;
  /** Client protocol level (0 for old clients, 1 for current ones). */
  readonly protocol: number;
  /** Seconds; 0 when the client did not send it. */
  readonly pingInterval: number;
  readonly pingMaxOut: number;
}

/** One stored message, decrypted. */
export interface ReferenceMessage {
  readonly seq: number;
  /** Server receive time, Unix nanoseconds. */
  readonly timestamp: bigint;
  /** The channel name (MsgProto.subject). */
  readonly subject: string;
  /** Publisher's reply subject; "" when none. */
  readonly reply: string;
  readonly data: Uint8Array;
}

/**
 * How the reference treats a stored subscription at startup (§2.7 table). Subscriptions it
 * ignores or deletes (non-durables of clients that are gone, durable-queue "ghosts", losing
 * shadows) are not in the model; they are listed in `ReferenceSnapshot.notices`.
 */
export type ReferenceSubscriptionKind =
  /** Non-queue durable attached to a registered client. */
  | 'durable'
  /** Non-queue durable with no client (closed, or its client is not registered). */
  | 'offline-durable'
  /** Member of a durable queue group, client registered. */
  | 'durable-queue-member'
  /** A durable queue group with no member left: holds the group's position and pending seqs. */
  | 'durable-queue-shadow'
  /** Member of a non-durable queue group, client registered. */
  | 'queue-member'
  /** Plain (non-durable, non-queue) subscription of a registered client. */
  | 'plain';

export interface ReferenceSubscription {
  readonly kind: ReferenceSubscriptionKind;
  /** The ID in the reference store: unique per channel in FILE, store-wide in SQL. */
  readonly storeId: number;
  /** Owning client; "" for a shadow. Kept for an offline durable (it resumes by client ID). */
  readonly clientId: string;
  /** Durable name; for a durable queue group the part before ":" of the stored group. */
  readonly durableName: string;
  /** Queue group name without the durable prefix; "" for non-queue subscriptions. */
  readonly queueGroup: string;
  /** The group as stored (`durable:group` for durable queue groups); "" for non-queue. */
  readonly storedQueueGroup: string;
  readonly isDurable: boolean;
  /** Offline durable or shadow: attached to no client. */
  readonly isOffline: boolean;
  readonly inbox: string;
  readonly ackInbox: string;
  readonly maxInFlight: number;
  readonly ackWaitSeconds: number;
  /** Highest sequence sent to this subscription (0 = nothing yet). */
  readonly lastSent: number;
  /**
   * Where new deliveries resume: `max(lastSent + 1, channel first)` (the stores keep no start
   * position; a new subscription is stored with lastSent = start position - 1).
   */
  readonly resumeFrom: number;
  /** Unacked sequences, ascending; seqs below the channel's first were dropped (auto-acked). */
  readonly pending: readonly number[];
}

/** A queue group of a channel, as the reference rebuilds it. */
export interface ReferenceQueueGroup {
  /** As stored: `durable:group` for a durable queue group. */
  readonly storedName: string;
  readonly durable: boolean;
  /** max of the members' and the shadow's lastSent. */
  readonly lastSent: number;
  /** `storeId`s of the members (and of the shadow). */
  readonly subscriptionIds: readonly number[];
}

/** Channel limits as the reference's SQL store recorded them (FILE stores record none). */
export interface ReferenceStoredLimits {
  readonly maxMsgs: number;
  readonly maxBytes: number;
  /** Nanoseconds; 0 = unlimited. */
  readonly maxAgeNs: bigint;
}

export interface ReferenceChannel {
  readonly name: string;
  /**
   * First and last logical sequence. 0/0 for a channel that never had a message;
   * `first = last + 1` when every message expired (numbering continues after `last`).
   */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Logical message count (`last - first + 1`, or 0). Skipped damaged records are counted. */
  readonly msgCount: number;
  /**
   * Messages present in the store but left out by the channel limits given to the reader
   * (`options.limits`), as the reference would drop them at its next start.
   */
  readonly droppedByLimits: number;
  /** SQL only: the limits stored with the channel. */
  readonly storedLimits: ReferenceStoredLimits | undefined;
  readonly subscriptions: readonly ReferenceSubscription[];
  readonly queueGroups: readonly ReferenceQueueGroup[];
  /** The reference's next subscription ID: per channel in FILE, store-wide (same on every channel) in SQL. */
  readonly nextSubscriptionId: number;
}

export interface ReferenceSnapshot {
  readonly source: 'file' | 'postgres' | 'mysql';
  readonly server: ReferenceServerInfo;
  /** §2.12: subscriptions and clients live in the Raft log, not in this store. */
  readonly clustered: boolean;
  readonly clients: readonly ReferenceClient[];
  readonly channels: readonly ReferenceChannel[];
  /** Things the recovery rules dropped or repaired, and warnings (one sentence each). */
  readonly notices: readonly string[];
}

/** An opened reference store: the snapshot, and its messages streamed per channel. */
export interface ReferenceStoreReader {
  readonly snapshot: ReferenceSnapshot;
  /**
   * The channel's logical messages `firstSeq..lastSeq` in order, read lazily with bounded
   * memory. Damaged records throw, or are skipped (see `skipped`) when skipping is enabled.
   */
  messages(channel: string): AsyncIterable<ReferenceMessage>;
  /**
   * The same messages from `fromSeq` on, as column batches of at most `maxMsgs` messages and
   * about `maxBytes` bytes (msg-batch.ts): the import's fast path. Each batch is the caller's.
   */
  batches(channel: string, fromSeq: number, maxMsgs: number, maxBytes: number): AsyncIterable<MessageBatch>;
  /** Damaged message records left out so far (skip mode). */
  readonly skipped: readonly SkippedRecord[];
}

/** Current channel limits of the reference's configuration, resolved per channel. */
export interface ChannelLimits {
  /** 0 = unlimited. */
  readonly maxMsgs: number;
  /** 0 = unlimited. */
  readonly maxBytes: number;
  /** Nanoseconds; 0 = unlimited. */
  readonly maxAgeNs: bigint;
}

/** Options shared by both readers. */
export interface ReferenceReadOptions {
  /** The reference's encryption key (string as configured, or raw bytes). */
  readonly encryptionKey?: string | Uint8Array;
  /**
   * The reference's channel limits after inheritance. Without them everything physically
   * present (FILE) or present in the rows (SQL) is imported, as §2.7 advises.
   */
  readonly limits?: (channel: string) => ChannelLimits | undefined;
  /** Clock for MaxAge, Unix nanoseconds (injectable for tests). */
  readonly now?: () => bigint;
  /** Leave damaged message records out (listed in `skipped`) instead of failing. */
  readonly skipDamagedMessages?: boolean;
}
