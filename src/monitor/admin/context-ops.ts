/**
 * The read-only admin operations, served from what the monitor already sees: the same client
 * list as /streaming/clientsz, and messages through the store contract's lookup.
 */
import { MsgProtoCodec } from '../../protocol/codec';
import type { StoredMsg } from '../../store/contract';
import { rfc3339Nano } from '../http';
import { sortedClients, subz, type StreamingMonitorSource } from '../streaming';
import { AdminError } from './errors';
import type {
  AdminClient,
  AdminMessage,
  AdminReadOperations,
  AdminSubscription,
  ListClientsInput,
  ListClientsOutput,
  ListMessagesInput,
  ListMessagesOutput,
  PayloadEncoding,
} from './operations';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function encode(data: Uint8Array, want: PayloadEncoding): { encoding: PayloadEncoding; data: string } {
  if (want === 'utf8') {
    try {
      return { encoding: 'utf8', data: strictUtf8.decode(data) };
    } catch {
      // Binary payload: base64 is lossless, and `encoding` tells the caller.
    }
  }
  return { encoding: 'base64', data: Buffer.from(data).toString('base64') };
}

/** A stored message as the API shows it (its wire form decoded). */
export function adminMessage(m: StoredMsg, want: PayloadEncoding): AdminMessage {
  const p = MsgProtoCodec.decode(m.bytes);
  const data = p.data ?? new Uint8Array();
  const ms = Math.floor(m.timestamp / 1e6);
  return {
    seq: m.seq,
    timestamp: rfc3339Nano(new Date(ms), m.timestamp - ms * 1e6),
    subject: p.subject,
    reply: p.reply ?? '',
    size: data.length,
    ...encode(data, want),
  };
}

export class MonitorReadOperations implements AdminReadOperations {
  constructor(private readonly source: () => StreamingMonitorSource) {}

  listClients(input: ListClientsInput): ListClientsOutput {
    const all = sortedClients(this.source().core);
    const sel = all.slice(Math.min(input.offset, all.length), Math.min(input.offset + input.limit, all.length));
    const clients: AdminClient[] = sel.map((c) => {
      const subscriptions: Record<string, AdminSubscription[]> = {};
      for (const s of c.subs) (subscriptions[s.channel.name] ??= []).push(subz(s));
      return { id: c.id, hb_inbox: c.info.HbInbox, subs_count: c.subs.size, subscriptions };
    });
    return { offset: input.offset, limit: input.limit, count: clients.length, total: all.length, clients };
  }

  async listMessages(input: ListMessagesInput): Promise<ListMessagesOutput> {
    const ch = this.source().core?.channels.get(input.channel);
    if (ch === undefined) {
      throw new AdminError(404, { code: 'channel_not_found', message: `channel ${JSON.stringify(input.channel)} not found` });
    }
    const store = ch.store.msgs;
    const first = store.firstSeq;
    const last = store.lastSeq;
    const messages: AdminMessage[] = [];
    let seq = Math.max(input.fromSeq ?? first, first, 1);
    // Sequences removed by limits between firstSeq and lastSeq are skipped, not errors.
    for (; seq <= last && messages.length < input.limit; seq++) {
      const cached = store.lookupCached(seq);
      const m = cached === null ? await store.lookup(seq) : cached;
      if (m !== undefined) messages.push(adminMessage(m, input.encoding));
    }
    return {
      channel: input.channel,
      first_seq: first,
      last_seq: last,
      count: messages.length,
      next_seq: seq <= last ? seq : 0,
      messages,
    };
  }
}
