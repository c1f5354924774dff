/**
 * Writes a reference store's content into our store through the store contract: the same
 * record calls the server makes (init, addClient, createChannel, msgs.store, subs.createSub,
 * subs.addSeqPending, commit), so the event log and message rows are those the server itself
 * writes and recovery, snapshots and FT see an ordinary log.
 *
 * How an imported subscription is encoded: SubCreated carrying the reference's state
 * (lastSent included), then MsgsSent with its pending sequences. Folding them gives exactly
 * that lastSent and pending set (MsgsSent raises lastSent only to the highest pending seq,
 * which is never above the stored lastSent). Offline durables are stored closed (as a Close
 * would store them), durable-queue shadows with no client ID, as the server does.
 *
 * Order (src/import/resume.ts depends on it): everything but the messages in one first
 * commit, then each channel's messages in sequence order, in large batches with one batch
 * read while the previous one is written: memory stays bounded by two batches, whatever the
 * number and size of channels.
 */
import type { ClientInfo, ServerInfo, SubState } from '../protocol/codec';
import { isBulkAppendStore, type ChannelStore, type Store } from '../store/contract';
import { batchRow, type MessageBatch } from './reference/msg-batch';
import { decodeMsg } from './reference/records';
import type { ReferenceChannel, ReferenceSnapshot, ReferenceStoreReader, ReferenceSubscription } from './reference';

/** Messages recorded per commit. */
export const IMPORT_BATCH_MSGS = 20_000;
/** …or fewer when they are large: bytes recorded per commit. */
export const IMPORT_BATCH_BYTES = 32 * 1024 * 1024;

export function serverInfoOf(s: ReferenceSnapshot): ServerInfo {
  const v = s.server;
  return {
    ClusterID: v.clusterId,
    Discovery: v.discoverSubject,
    Publish: v.publishSubject,
    Subscribe: v.subscribeSubject,
    Unsubscribe: v.unsubscribeSubject,
    Close: v.closeSubject,
    SubClose: v.subCloseSubject,
    AcksSubs: v.ackSubject,
    NodeID: '',
  };
}

export function subStateOf(sub: ReferenceSubscription): SubState {
  const queue = sub.storedQueueGroup !== '';
  return {
    ID: 0,
    clientID: sub.kind === 'durable-queue-shadow' ? '' : sub.clientId,
    qGroup: sub.storedQueueGroup,
    inbox: sub.inbox,
    ackInbox: sub.ackInbox,
    maxInFlight: sub.maxInFlight,
    ackWaitInSecs: sub.ackWaitSeconds,
    // The server keeps a durable queue group's durable name inside qGroup ("durable:group").
    durableName: queue ? '' : sub.durableName,
    lastSent: sub.lastSent,
    isDurable: sub.isDurable,
    isClosed: sub.kind === 'offline-durable',
  };
}

/** Records the first transaction: server info, clients, channels, subscriptions. */
export async function writeStructure(store: Store, snap: ReferenceSnapshot): Promise<void> {
  store.init(serverInfoOf(snap));
  for (const c of snap.clients) {
    const ci: ClientInfo = { ID: c.id, HbInbox: c.hbInbox, ConnID: c.connId, Protocol: c.protocol, PingInterval: c.pingInterval, PingMaxOut: c.pingMaxOut };
    store.addClient(ci);
  }
  for (const ch of snap.channels) {
    const cs = store.createChannel(ch.name);
    // Every message expired: the numbering still continues after the last sequence.
    if (ch.msgCount === 0 && ch.lastSeq > 0) cs.msgs.continueAfter(ch.lastSeq);
    for (const sub of ch.subscriptions) {
      const st = subStateOf(sub);
      cs.subs.createSub(st);
      for (const seq of sub.pending) cs.subs.addSeqPending(st.ID, seq);
    }
  }
  await store.commit();
}

export interface MessageProgress {
  (channel: string, messages: number, bytes: number): void;
}

/**
 * Channels whose messages are written at the same time, as the store advises (two COPY
 * sessions on PostgreSQL: a database session inserts on one core while the import's own
 * thread is busy less than half of the time; one elsewhere).
 */
export function messageLanes(store: Store): number {
  return isBulkAppendStore(store) ? store.bulkLanes : 1;
}

/** Runs `f` on every item, at most `lanes` at a time, in order of start; the first failure wins. */
export async function inLanes<T>(items: readonly T[], lanes: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await f(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const all = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, lane));
  const bad = all.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (bad !== undefined) throw bad.reason;
}

/**
 * Appends the channel's messages above what the target already holds (resume): read in column
 * batches, each appended in bulk (BulkAppendStore: COPY on PostgreSQL, wide INSERTs on MariaDB,
 * a prepared INSERT on SQLite) while the next batch is read, so reading and the database's
 * work overlap. A batch the store cannot take in bulk (limits would drop messages, encryption
 * at rest) is stored message by message and committed, as the server stores them.
 */
export async function writeMessages(store: Store, reader: ReferenceStoreReader, ch: ReferenceChannel, cs: ChannelStore, progress: MessageProgress): Promise<void> {
  let inflight: Promise<void> | undefined;
  for await (const b of reader.batches(ch.name, cs.msgs.lastSeq + 1, IMPORT_BATCH_MSGS, IMPORT_BATCH_BYTES)) {
    if (inflight !== undefined) await inflight;
    inflight = appendBatch(store, cs, b).then(() => progress(ch.name, b.count, b.data.length));
  }
  if (inflight !== undefined) await inflight;
}

async function appendBatch(store: Store, cs: ChannelStore, b: MessageBatch): Promise<void> {
  if (isBulkAppendStore(store) && (await store.appendBulk(cs, b))) return;
  for (let i = 0; i < b.count; i++) {
    // The row is the marshalled MsgProto: its fields back, for the store to encode again.
    const m = decodeMsg(batchRow(b, i));
    cs.msgs.store({ seq: m.sequence, timestamp: Number(m.timestamp), timestampNs: m.timestamp, subject: m.subject, reply: m.reply, data: m.data });
  }
  await store.commit();
  // Recorded rows stay referenced by the commit: only the store's read cache goes.
  cs.msgs.forgetRecent();
}
