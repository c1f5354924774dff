/**
 * Reads the reference's SQL store tables (reference-stores.md §4) from PostgreSQL or MySQL/
 * MariaDB through a Knex instance the caller owns, applying the §4.3 recovery rules. SELECTs
 * only; messages are streamed in pages ordered by seq (keyset pagination, bounded memory).
 */
import { batchesOf, type MessageBatch } from './msg-batch';
import type { Knex } from 'knex';
import { ReferenceDamageError, ReferenceStoreError, type SkippedRecord } from './errors';
import type { ChannelLimits, ReferenceChannel, ReferenceClient, ReferenceMessage, ReferenceReadOptions, ReferenceSnapshot, ReferenceStoreReader } from './model';
import { PayloadOpener } from './payload-opener';
import { decodeClientInfo, decodeMsg, decodeServerInfo, decodeSubState, type StoredSubState } from './records';
import { big, bool, bytes, num, seqList, text } from './sql-values';
import { toClient, toServerInfo } from './stored-to-model';
import { interpretSubscriptions, type ReplayedSub } from './subscription-rules';
import { systemNowNs } from './clock';
import type { DialectName } from '../../store/sql/dialect/types';

export interface SqlStoreReadOptions extends ReferenceReadOptions {
  /** Messages per SELECT page (default 1,000). */
  readonly pageSize?: number;
}

/** The reference SQL store ran on PostgreSQL and MySQL only. */
type SqlDialect = Exclude<DialectName, 'sqlite'>;

/** Unquoted names are folded to lower case by Postgres; MySQL keeps the script's CamelCase. */
const TABLES: Record<SqlDialect, Record<'serverInfo' | 'clients' | 'channels' | 'messages' | 'subscriptions' | 'subsPending', string>> = {
  postgres: { serverInfo: 'serverinfo', clients: 'clients', channels: 'channels', messages: 'messages', subscriptions: 'subscriptions', subsPending: 'subspending' },
  mysql: { serverInfo: 'ServerInfo', clients: 'Clients', channels: 'Channels', messages: 'Messages', subscriptions: 'Subscriptions', subsPending: 'SubsPending' },
};

function dialectOf(knex: Knex): SqlDialect {
  const client = (knex.client as { config?: { client?: unknown } }).config?.client;
  const name = typeof client === 'string' ? client : '';
  if (/^(pg|postgres|postgresql|pgnative)$/i.test(name)) return 'postgres';
  if (/^mysql2?$/i.test(name)) return 'mysql';
  throw new ReferenceStoreError(`unsupported Knex client "${name}" for a reference SQL store: use pg (PostgreSQL) or mysql2 (MySQL/MariaDB)`);
}

type Row = Record<string, unknown>;

interface SqlChannelState {
  readonly id: number;
  readonly model: ReferenceChannel;
}

/** §4.3 step 3.5: SubsPending rows of one subscription in increasing `row`. */
function replayPending(state: StoredSubState, rows: readonly Row[]): ReplayedSub {
  let lastSent = state.lastSent;
  const pending = new Set<number>();
  for (const r of rows) {
    const seq = num(r.seq);
    if (seq > 0) {
      pending.add(seq);
      lastSent = Math.max(lastSent, seq);
    } else {
      lastSent = Math.max(lastSent, num(r.lastsent));
      for (const p of seqList(r.pending)) pending.add(p);
      for (const a of seqList(r.acks)) pending.delete(a);
    }
  }
  return { state: { ...state, lastSent }, pending };
}

function lowerLimit(current: number, stored: number): boolean {
  return current > 0 && (stored === 0 || current < stored);
}

/** Opens and recovers a reference SQL store. Messages are read later, per channel. */
export async function openReferenceSqlStore(knex: Knex, options: SqlStoreReadOptions = {}): Promise<ReferenceStoreReader> {
  // Kept whole (~110 lines): builds the reader's closures over one connection, dialect
  // and table set; most of its length is the returned object's small methods.
  const dialect = dialectOf(knex);
  const T = TABLES[dialect];
  const pageSize = options.pageSize ?? 1000;
  const skipDamaged = options.skipDamagedMessages ?? false;
  const now = (options.now ?? systemNowNs)();
  const notices: string[] = [];
  const skipped: SkippedRecord[] = [];

  const info = (await knex(T.serverInfo).select('id', 'proto', 'version').where('uniquerow', 1)) as Row[];
  if (info.length === 0) throw new ReferenceStoreError(`table ${T.serverInfo} has no row: the reference SQL store was never initialised, so there is nothing to import`);
  const version = num(info[0].version);
  if (version !== 1) throw new ReferenceStoreError(`table ${T.serverInfo} has schema version ${version}; only version 1 (nats-streaming-server up to v0.25) is supported`);
  const proto = bytes(info[0].proto);
  if (proto === undefined) throw new ReferenceDamageError('bad-record', { kind: 'row', table: T.serverInfo, row: 'uniquerow=1' }, 'server info proto is NULL');
  const server = decodeServerInfo(proto);
  if (server.clusterId !== text(info[0].id)) {
    throw new ReferenceDamageError('bad-record', { kind: 'row', table: T.serverInfo, row: 'uniquerow=1' }, `id column "${text(info[0].id)}" differs from the proto's cluster ID "${server.clusterId}"`);
  }
  const clustered = server.nodeId !== '';
  if (clustered) notices.push(`clustered-mode store (node ID "${server.nodeId}"): clients, subscriptions and pending acks live in the Raft log, not in these tables, so only channels and messages can be imported`);

  const clients: ReferenceClient[] = ((await knex(T.clients).select('id', 'hbinbox', 'proto').orderBy('id')) as Row[]).map((r) => {
    const p = bytes(r.proto);
    // Rows from servers before 0.10.0 have no proto (§4.1).
    return p === undefined ? { id: text(r.id), hbInbox: text(r.hbinbox), connId: new Uint8Array(0), protocol: 0, pingInterval: 0, pingMaxOut: 0 } : toClient(decodeClientInfo(p));
  });
  const live = new Set(clients.map((c) => c.id));
  const maxSubRow = (await knex(T.subscriptions).max({ m: 'subid' })) as Row[];
  const nextSubscriptionId = num(maxSubRow[0]?.m) + 1;

  const states = new Map<string, SqlChannelState>();
  const channelRows = (await knex(T.channels).select('id', 'name', 'maxseq', 'maxmsgs', 'maxbytes', 'maxage', 'deleted').orderBy('name')) as Row[];
  for (const ch of channelRows) {
    const id = num(ch.id);
    const name = text(ch.name);
    if (bool(ch.deleted)) {
      notices.push(`channel "${name}" (id ${id}) is marked deleted (a max_inactivity cleanup was interrupted): it and its rows are not imported`);
      continue;
    }
    const stored = { maxMsgs: num(ch.maxmsgs), maxBytes: num(ch.maxbytes), maxAgeNs: big(ch.maxage) };
    const agg = (await knex(T.messages).where('id', id).max({ mx: 'seq' })) as Row[];
    let maxseq = Math.max(num(ch.maxseq), num(agg[0]?.mx));
    const first = await logicalFirst(knex, T.messages, id, options.limits?.(name), stored, now, pageSize);
    const range = (await knex(T.messages).where('id', id).andWhere('seq', '>=', first).min({ lo: 'seq' }).max({ hi: 'seq' })) as Row[];
    // Rows the limits leave out (they are still in the table: the reference deletes them at start).
    const dropped = first > 0 ? num(((await knex(T.messages).where('id', id).andWhere('seq', '<', first).count({ n: '*' })) as Row[])[0]?.n) : 0;
    let firstSeq = num(range[0]?.lo);
    let lastSeq = num(range[0]?.hi);

    const subRows = (await knex(T.subscriptions).select('subid', 'lastsent', 'proto').where('id', id).andWhere('deleted', false).orderBy('subid')) as Row[];
    const subs: ReplayedSub[] = [];
    for (const r of subRows) {
      const p = bytes(r.proto);
      const at = { kind: 'row' as const, table: T.subscriptions, row: `id=${id}, subid=${text(r.subid)}` };
      if (p === undefined) throw new ReferenceDamageError('bad-record', at, 'subscription proto is NULL');
      let st: StoredSubState;
      try {
        st = decodeSubState(p);
      } catch (err) {
        throw new ReferenceDamageError('bad-record', at, `subscription proto does not decode: ${(err as Error).message}`);
      }
      st = { ...st, lastSent: Math.max(st.lastSent, num(r.lastsent)) };
      const pend = (await knex(T.subsPending).select('row', 'seq', 'lastsent', 'pending', 'acks').where('subid', num(r.subid)).orderBy('row')) as Row[];
      let replayed: ReplayedSub;
      try {
        replayed = replayPending(st, pend);
      } catch (err) {
        throw new ReferenceDamageError('bad-record', { kind: 'row', table: T.subsPending, row: `subid=${text(r.subid)}` }, `pending/acks JSON does not parse: ${(err as Error).message}`);
      }
      subs.push(replayed);
      maxseq = Math.max(maxseq, replayed.state.lastSent);
    }
    if (maxseq > lastSeq) {
      // Every message expired (or a sub saw further): numbering continues after maxseq (§4.3 step 6).
      firstSeq = maxseq + 1;
      lastSeq = maxseq;
    }
    const interpreted = interpretSubscriptions(name, subs, live, firstSeq);
    notices.push(...interpreted.notices);
    states.set(name, {
      id,
      model: {
        name,
        firstSeq,
        lastSeq,
        msgCount: lastSeq >= firstSeq && lastSeq > 0 ? lastSeq - firstSeq + 1 : 0,
        droppedByLimits: dropped,
        storedLimits: stored,
        subscriptions: interpreted.subscriptions,
        queueGroups: interpreted.queueGroups,
        nextSubscriptionId,
      },
    });
  }

  const snapshot: ReferenceSnapshot = { source: dialect, server: toServerInfo(server), clustered, clients, channels: [...states.values()].map((s) => s.model), notices };
  const opener = new PayloadOpener(options.encryptionKey, skipDamaged);
  return {
    snapshot,
    skipped,
    messages(channel: string): AsyncIterable<ReferenceMessage> {
      const c = states.get(channel);
      if (c === undefined) throw new ReferenceStoreError(`channel "${channel}" is not in the reference SQL store`);
      return streamSqlMessages(knex, T.messages, channel, c.id, c.model.firstSeq, c.model.lastSeq, pageSize, opener, skipDamaged, skipped);
    },
    batches(channel: string, fromSeq: number, maxMsgs: number, maxBytes: number): AsyncIterable<MessageBatch> {
      const c = states.get(channel);
      if (c === undefined) throw new ReferenceStoreError(`channel "${channel}" is not in the reference SQL store`);
      const from = Math.max(c.model.firstSeq, fromSeq);
      return batchesOf(streamSqlMessages(knex, T.messages, channel, c.id, from, c.model.lastSeq, pageSize, opener, skipDamaged, skipped), from, maxMsgs, maxBytes);
    },
  };
}

/**
 * The first sequence that survives the startup limits (§4.3 step 2): MaxAge always; MaxMsgs and
 * MaxBytes only when the current limit is lower than the stored one (they were enforced row by
 * row while the reference ran). Like the FILE store, the last message is never dropped by
 * MaxMsgs/MaxBytes. Nothing is deleted: this only computes the logical window.
 */
async function logicalFirst(knex: Knex, table: string, id: number, limits: ChannelLimits | undefined, stored: { maxMsgs: number; maxBytes: number }, now: bigint, pageSize: number): Promise<number> {
  let first = 0;
  if (limits === undefined) return first;
  if (limits.maxAgeNs > 0n) {
    const cutoff = (now - limits.maxAgeNs).toString();
    const r = (await knex(table).where('id', id).andWhere('timestamp', '<=', cutoff).max({ mx: 'seq' })) as Row[];
    first = num(r[0]?.mx) + 1;
  }
  const msgs = lowerLimit(limits.maxMsgs, stored.maxMsgs) ? limits.maxMsgs : 0;
  const byteLimit = lowerLimit(limits.maxBytes, stored.maxBytes) ? limits.maxBytes : 0;
  if (msgs === 0 && byteLimit === 0) return first;
  const tot = (await knex(table).where('id', id).andWhere('seq', '>=', first).count({ n: '*' }).sum({ b: 'size' })) as Row[];
  let count = num(tot[0]?.n);
  let total = num(tot[0]?.b);
  const over = (): boolean => count > 1 && ((msgs > 0 && count > msgs) || (byteLimit > 0 && total > byteLimit));
  let from = first;
  while (over()) {
    const page = (await knex(table).select('seq', 'size').where('id', id).andWhere('seq', '>=', from).orderBy('seq').limit(pageSize)) as Row[];
    if (page.length === 0) break;
    for (const r of page) {
      if (!over()) break;
      count--;
      total -= num(r.size);
      first = num(r.seq) + 1;
    }
    from = num(page[page.length - 1].seq) + 1;
  }
  return first;
}

async function* streamSqlMessages(
  knex: Knex,
  table: string,
  channel: string,
  id: number,
  first: number,
  last: number,
  pageSize: number,
  opener: PayloadOpener,
  skipDamaged: boolean,
  skipped: SkippedRecord[],
): AsyncGenerator<ReferenceMessage> {
  let from = first;
  while (from <= last) {
    const page = (await knex(table).select('seq', 'data').where('id', id).andWhere('seq', '>=', from).andWhere('seq', '<=', last).orderBy('seq').limit(pageSize)) as Row[];
    if (page.length === 0) return;
    for (const r of page) {
      const seq = num(r.seq);
      const at = { kind: 'row' as const, table, row: `id=${id}, seq=${seq}` };
      const damaged = (detail: string, kind: 'bad-record' | 'index-mismatch'): void => {
        if (!skipDamaged) throw new ReferenceDamageError(kind, at, detail, seq);
        skipped.push({ channel, damage: kind, at, detail, seq });
      };
      const data = bytes(r.data);
      if (data === undefined) {
        damaged('data is NULL', 'bad-record');
        continue;
      }
      let m;
      try {
        m = decodeMsg(data);
      } catch (err) {
        damaged(`data does not decode: ${(err as Error).message}`, 'bad-record');
        continue;
      }
      if (m.sequence !== seq) {
        damaged(`data holds seq ${m.sequence} in the row of seq ${seq}`, 'index-mismatch');
        continue;
      }
      const plain = opener.open(channel, seq, m.data, at, skipped);
      if (plain === undefined) continue;
      yield { seq, timestamp: m.timestamp, subject: m.subject, reply: m.reply, data: plain };
    }
    from = num(page[page.length - 1].seq) + 1;
  }
}
