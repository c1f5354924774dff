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
 * commit, then each channel's messages in sequence order, committed in large batches with
 * one batch recorded while the previous one is written, and the store told to forget its
 * in-memory copies after each batch: memory stays bounded by two batches, whatever the number
 * and size of channels.
 */
import type { ClientInfo, ServerInfo, SubState } from '../protocol/codec';
import type { ChannelStore, Store } from '../store/contract';
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

/** Appends the channel's messages above what the target already holds (resume). */
export async function writeMessages(store: Store, reader: ReferenceStoreReader, ch: ReferenceChannel, cs: ChannelStore, progress: MessageProgress): Promise<void> {
  const have = cs.msgs.lastSeq;
  let inflight: Promise<void> | undefined;
  let n = 0;
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (inflight !== undefined) await inflight;
    inflight = store.commit();
    // Recorded rows stay referenced by the commit: only the store's read cache goes.
    cs.msgs.forgetRecent();
    progress(ch.name, n, bytes);
    n = 0;
    bytes = 0;
  };
  for await (const m of reader.messages(ch.name)) {
    if (m.seq <= have) continue;
    cs.msgs.store({ seq: m.seq, timestamp: Number(m.timestamp), timestampNs: m.timestamp, subject: m.subject, reply: m.reply, data: m.data });
    n++;
    bytes += m.data.length;
    if (n >= IMPORT_BATCH_MSGS || bytes >= IMPORT_BATCH_BYTES) await flush();
  }
  if (inflight !== undefined) await inflight;
  await store.commit();
  cs.msgs.forgetRecent();
  if (n > 0) progress(ch.name, n, bytes);
}
