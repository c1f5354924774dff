/**
 * Delivery progress (messages sent, acknowledged) coalesced per subscription between two
 * other events. Flushed before any other event is recorded, so the order between progress
 * and, e.g., a SubDeleted is kept.
 *
 * Compact form: a subscription's progress within a batch is one MsgsSent (every sequence
 * sent) followed by one MsgsAcked (every sequence acked), not one event per alternation of
 * sends and acks. A catching-up subscriber alternates every event-loop turn (acks in, the
 * next messages out), which made ~2 events per turn per subscription; now it is 2 per batch.
 *
 * Why folding "all sent, then all acked" is exact: the two events only touch the sequences
 * they name, so only a sequence present in both lists can end differently. Sent-then-acked
 * (the normal life of a message) ends acked either way. Acked-then-sent (a message moved
 * back to a queue member that had it, a re-sent sequence) would end pending in the log but
 * acked in the folded form: a send of a sequence not above every sequence acked so far in
 * the current segment therefore starts a new segment (a new MsgsSent/MsgsAcked pair after
 * the previous one). New deliveries always have sequences above everything sent before, so
 * a catch-up never splits. lastSent is raised by MsgsSent to its highest sequence, which is
 * in the sent list whichever order the calls came in.
 */
import { EventKind, type StoreEvent } from '../events/events';

/** Sends and acks of one subscription, written as MsgsSent(sent) then MsgsAcked(acked). */
interface Segment {
  sent: number[];
  acked: number[];
  /** Highest sequence in `acked` (0: none yet). */
  maxAcked: number;
}

interface SubProgress {
  channelID: number;
  subID: number;
  segs: Segment[];
}

function newSegment(): Segment {
  return { sent: [], acked: [], maxAcked: 0 };
}

export class ProgressCoalescer {
  /** channelID → subID → progress (numbers as keys: no key string per recorded message). */
  private readonly progress = new Map<number, Map<number, SubProgress>>();
  private count = 0;
  /** The subscription recorded last: a catch-up records thousands in a row for the same one. */
  private last: SubProgress | undefined;

  /** Subscriptions with progress recorded since the last flush. */
  get size(): number {
    return this.count;
  }

  record(channelID: number, subID: number, sent: boolean, seq: number): void {
    let p = this.last;
    if (p === undefined || p.subID !== subID || p.channelID !== channelID) p = this.entry(channelID, subID);
    let seg = p.segs[p.segs.length - 1];
    if (sent) {
      // A re-send of a sequence that may have been acked in this segment: keep it after the ack.
      if (seg.maxAcked !== 0 && seq <= seg.maxAcked) p.segs.push((seg = newSegment()));
      seg.sent.push(seq);
    } else {
      seg.acked.push(seq);
      if (seq > seg.maxAcked) seg.maxAcked = seq;
    }
  }

  private entry(channelID: number, subID: number): SubProgress {
    let bySub = this.progress.get(channelID);
    if (bySub === undefined) {
      bySub = new Map();
      this.progress.set(channelID, bySub);
    }
    let p = bySub.get(subID);
    if (p === undefined) {
      p = { channelID, subID, segs: [newSegment()] };
      bySub.set(subID, p);
      this.count++;
    }
    this.last = p;
    return p;
  }

  /** Appends the coalesced progress to `events` as MsgsSent/MsgsAcked events and forgets it. */
  flushInto(events: StoreEvent[]): void {
    if (this.count === 0) return;
    for (const bySub of this.progress.values()) {
      for (const p of bySub.values()) {
        const { channelID, subID } = p;
        for (const seg of p.segs) {
          if (seg.sent.length > 0) events.push({ kind: EventKind.MsgsSent, channelID, subID, seqs: seg.sent });
          if (seg.acked.length > 0) events.push({ kind: EventKind.MsgsAcked, channelID, subID, seqs: seg.acked });
        }
      }
    }
    this.progress.clear();
    this.count = 0;
    this.last = undefined;
  }
}
