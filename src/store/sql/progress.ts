/**
 * Delivery progress (messages sent, acknowledged) coalesced per subscription between two
 * other events: one MsgsSent/MsgsAcked event per run of the same kind instead of one per
 * message. Flushed before any other event is recorded, so the order between progress and,
 * e.g., a SubDeleted is kept.
 */
import { EventKind, type StoreEvent } from '../events/events';

/** Delivery progress of one subscription within one batch, merged per kind in order. */
type ProgressOp = { sent: boolean; seqs: number[] };

export class ProgressCoalescer {
  /** Per "channelID:subID". */
  private readonly progress = new Map<string, { channelID: number; subID: number; ops: ProgressOp[] }>();

  get size(): number {
    return this.progress.size;
  }

  record(channelID: number, subID: number, sent: boolean, seq: number): void {
    const key = `${channelID}:${subID}`;
    let p = this.progress.get(key);
    if (p === undefined) {
      p = { channelID, subID, ops: [] };
      this.progress.set(key, p);
    }
    const last = p.ops[p.ops.length - 1];
    if (last !== undefined && last.sent === sent) last.seqs.push(seq);
    else p.ops.push({ sent, seqs: [seq] });
  }

  /** Appends the coalesced progress to `events` as MsgsSent/MsgsAcked events and forgets it. */
  flushInto(events: StoreEvent[]): void {
    if (this.progress.size === 0) return;
    for (const p of this.progress.values()) {
      for (const op of p.ops) {
        events.push(
          op.sent
            ? { kind: EventKind.MsgsSent, channelID: p.channelID, subID: p.subID, seqs: op.seqs }
            : { kind: EventKind.MsgsAcked, channelID: p.channelID, subID: p.subID, seqs: op.seqs },
        );
      }
    }
    this.progress.clear();
  }
}
