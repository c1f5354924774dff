/**
 * The events of the event-sourced store: plain typed records, one discriminated union.
 *
 * Every client, channel and subscription operation is one event appended to `stan_events`;
 * every published message is one row appended to `stan_messages` (a MessagePublished event
 * kept in its own table because it is read by (channel, sequence) and retired by channel
 * limits). Rows are never updated; retention (limits) and compaction (snapshots) delete
 * whole rows.
 *
 * Projections (projection.ts) fold these events into the recovered state with a pure
 * `evolve(state, event)`.
 */
import type { SubState } from '../../protocol/codec';

/** Numeric kinds are what the `kind` column stores; never renumber (forward-only). */
export enum EventKind {
  ServerInit = 1,
  ClientConnected = 2,
  ClientClosed = 3,
  ChannelCreated = 4,
  ChannelDeleted = 5,
  SubCreated = 6,
  SubUpdated = 7,
  SubDeleted = 8,
  MsgsSent = 9,
  MsgsAcked = 10,
  MsgsExpired = 11,
  /** Not in stan_events: derived from a stan_messages row when replaying (see MsgStoredEvent). */
  MsgStored = 12,
  /**
   * Only for subscriptions with max deliveries (docs/dead-letters.md): a sequence was
   * redelivered, with its count so far. Folded into per-sequence counts, so a restart or
   * an FT takeover does not reset the deliveries counted so far.
   */
  MsgRedelivered = 13,
  /**
   * A message reached its subscription's max deliveries and left its pending set (like an
   * ack); counted per channel so that metrics agree after a restart or takeover.
   */
  MsgDeadLettered = 14,
  /** An admin reset a subscription's position (docs/admin-api.md): pending and delivery counts cleared. */
  SubPositionReset = 15,
}

export interface ServerInitEvent {
  kind: EventKind.ServerInit;
  clusterID: string;
  /** The subjects of spb.ServerInfo, kept so a store created by an older server keeps its names. */
  discovery: string;
  publish: string;
  subscribe: string;
  unsubscribe: string;
  close: string;
  subClose: string;
  acksSubs: string;
}

export interface ClientConnectedEvent {
  kind: EventKind.ClientConnected;
  clientID: string;
  hbInbox: string;
  connID: Uint8Array;
  protocol: number;
  pingInterval: number;
  pingMaxOut: number;
}

/** Close request, heartbeat timeout, or replacement by a new connection with the same ID. */
export interface ClientClosedEvent {
  kind: EventKind.ClientClosed;
  clientID: string;
}

export interface ChannelCreatedEvent {
  kind: EventKind.ChannelCreated;
  channelID: number;
  name: string;
}

/** Deleted by max_inactivity: its messages and subscriptions go with it. */
export interface ChannelDeletedEvent {
  kind: EventKind.ChannelDeleted;
  channelID: number;
}

export interface SubCreatedEvent {
  kind: EventKind.SubCreated;
  channelID: number;
  sub: SubState;
}

/** Durable close (offline) or resume, queue shadow, new position after a member left. */
export interface SubUpdatedEvent {
  kind: EventKind.SubUpdated;
  channelID: number;
  sub: SubState;
}

/** Unsubscribe, close of a plain sub, queue member leaving a non-empty group. */
export interface SubDeletedEvent {
  kind: EventKind.SubDeleted;
  channelID: number;
  subID: number;
}

/** Delivery progress: these sequences were sent and are pending acknowledgement. */
export interface MsgsSentEvent {
  kind: EventKind.MsgsSent;
  channelID: number;
  subID: number;
  seqs: number[];
}

/**
 * See EventKind.MsgRedelivered. `count` is absolute (redeliveries so far; in a queue group
 * the group's count, which follows a message moved to another member), so replaying twice
 * or after a move is harmless. An ack (MsgsAcked) forgets the count of its sequences.
 */
export interface MsgRedeliveredEvent {
  kind: EventKind.MsgRedelivered;
  channelID: number;
  subID: number;
  seq: number;
  count: number;
}

/** See EventKind.MsgDeadLettered. The dead-letter copy, if any, is a message row of its own. */
export interface MsgDeadLetteredEvent {
  kind: EventKind.MsgDeadLettered;
  channelID: number;
  subID: number;
  seq: number;
  deliveries: number;
}

export interface MsgsAckedEvent {
  kind: EventKind.MsgsAcked;
  channelID: number;
  subID: number;
  seqs: number[];
}

/**
 * Channel limits removed every message below `firstSeq` (their rows are deleted from
 * stan_messages in the same transaction). Carries the new count/bytes so recovery needs no
 * aggregate over the messages table.
 */
export interface MsgsExpiredEvent {
  kind: EventKind.MsgsExpired;
  channelID: number;
  firstSeq: number;
  /** Informational (logs, monitoring): the projection uses the absolute fields below. */
  removedMsgs: number;
  removedBytes: number;
  /**
   * The channel's state right after the removal: last sequence, message count and bytes.
   * Absolute rather than relative because recovery replays events *before* the message rows
   * above the snapshot, and rows removed by limits are never replayed: subtracting
   * `removedMsgs` would then subtract messages that were never added. With absolute values
   * the projection sets count/bytes and ignores the rows at or below `lastSeq` (already
   * counted), so the result does not depend on that order (projection.ts).
   */
  lastSeq: number;
  msgCount: number;
  byteCount: number;
}

/**
 * A message row of stan_messages seen as an event. Only its position and size matter to the
 * projection (channel first/last sequence, count, bytes); the payload stays in the table and
 * is read on demand, so recovery never loads messages.
 */
export interface MsgStoredEvent {
  kind: EventKind.MsgStored;
  channelID: number;
  seq: number;
  timestamp: number;
  size: number;
}

/**
 * An operator moved a durable's position (admin API durables/reset): its next message is
 * `lastSent + 1` and nothing is pending any more. Unlike SubUpdated, whose lastSent never
 * goes backwards, this sets lastSent exactly: moving back is the point.
 */
export interface SubPositionResetEvent {
  kind: EventKind.SubPositionReset;
  channelID: number;
  subID: number;
  lastSent: number;
}

export type StoreEvent =
  | ServerInitEvent
  | ClientConnectedEvent
  | ClientClosedEvent
  | ChannelCreatedEvent
  | ChannelDeletedEvent
  | SubCreatedEvent
  | SubUpdatedEvent
  | SubDeletedEvent
  | MsgsSentEvent
  | MsgsAckedEvent
  | MsgRedeliveredEvent
  | MsgDeadLetteredEvent
  | MsgsExpiredEvent
  | MsgStoredEvent
  | SubPositionResetEvent;
