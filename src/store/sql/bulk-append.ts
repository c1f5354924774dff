/**
 * The SQL store's bulk append (contract.ts BulkAppendStore, used by the import): a batch of
 * one channel's message rows written in one transaction by the dialect's fastest way
 * (dialect/postgres-copy.ts, mysql-bulk.ts, sqlite-bulk.ts), then folded into the projection
 * and the channel's state exactly as the same rows stored one by one would be.
 *
 * What stays the same as MsgStore.store + commit: the rows (channel_id, seq, ts, size = row
 * length, data = the marshalled MsgProto), no event rows (a stored message is its row), the
 * projection (one MsgStored fold per row), the channel's first/last/count/bytes/last
 * timestamp. Where the one-by-one path would do more (limits dropping messages, sealing rows
 * for encryption at rest, refusing a row too large for the database), `bulkAppendable`
 * answers false and the caller takes that path instead.
 */
import type { BulkMessages } from '../contract';
import { EventKind } from '../events/events';
import { evolve, type ProjectedState } from '../events/projection';
import { exceedsCountLimits } from '../limits/policy';
import type { DialectAdapter } from './dialect';
import type { WriteFence } from './batch-writer';
import type { SqlChannelStore } from './message-store';

/** True when appending `rows` in bulk leaves exactly what storing them one by one would. */
export function bulkAppendable(cs: SqlChannelStore, rows: BulkMessages, maxMessageBytes: number | undefined): boolean {
  let last = cs.msgs.lastSeq;
  let start = 0;
  for (let i = 0; i < rows.count; i++) {
    const seq = rows.seqs[i];
    const end = rows.ends[i];
    if (seq <= last || (maxMessageBytes !== undefined && end - start > maxMessageBytes)) return false;
    last = seq;
    start = end;
  }
  // Counted as the store counts: the span first..last (a skipped sequence counts).
  const first = cs.msgs.msgCount === 0 ? rows.seqs[0] : cs.msgs.firstSeq;
  return !exceedsCountLimits(rows.count === 0 ? cs.msgs.msgCount : last - first + 1, cs.msgs.byteCount + start, cs.limits);
}

/** Writes the rows in one transaction (the FT fence first, as every write transaction). */
export async function writeBulkRows(adapter: DialectAdapter, fence: WriteFence | undefined, channelID: number, rows: BulkMessages): Promise<void> {
  await adapter.knex.transaction(async (trx) => {
    await fence?.(trx);
    await adapter.dialect.bulkInsertMessages(trx, channelID, rows, adapter.maxStatementBytes);
  });
}

/** The projection after the rows' MsgStored folds (one event object reused: evolve keeps none). */
export function foldBulkRows(state: ProjectedState, channelID: number, rows: BulkMessages): ProjectedState {
  const e = { kind: EventKind.MsgStored as const, channelID, seq: 0, timestamp: 0, size: 0 };
  let start = 0;
  for (let i = 0; i < rows.count; i++) {
    e.seq = rows.seqs[i];
    e.timestamp = rows.timestamps[i];
    e.size = rows.ends[i] - start;
    start = rows.ends[i];
    state = evolve(state, e);
  }
  return state;
}

/** The channel's in-memory state after the rows (MsgStore.store's bookkeeping, no cache). */
export function applyBulkToChannel(cs: SqlChannelStore, rows: BulkMessages): void {
  const m = cs.msgs;
  m.forgetRecent();
  const n = rows.count;
  const first = m.msgCount === 0 ? rows.seqs[0] : m.firstSeq;
  m.restore(first, rows.seqs[n - 1], rows.seqs[n - 1] - first + 1, m.byteCount + rows.ends[n - 1], rows.timestamps[n - 1]);
}
