/**
 * A channel's message count is the span first..last: a sequence the database refused (no row,
 * a gap) or an import left out counts until limits, max_age or a purge drop it. The running SQL
 * store, the event projection and recovery's row aggregates all count this way, so that a
 * restart agrees with the server that stopped.
 */

/** A channel's first and last sequences and its count. */
export interface SpanCounts {
  firstSeq: number;
  lastSeq: number;
  msgCount: number;
}

/** Counts the messages up to `seq` (above lastSeq): the first one of an empty channel starts the span. */
export function countThrough(c: SpanCounts, seq: number): void {
  if (c.msgCount === 0) {
    c.firstSeq = seq;
    c.msgCount = 1;
  } else c.msgCount += seq - c.lastSeq;
  c.lastSeq = seq;
}
