/**
 * The SQL store's unit of work: the rows and events recorded since the last group commit,
 * and how a batch is cut (io_batch_size), split (isolating rows the database refuses, see
 * batch-splitter.ts) and put back in front of the queue after a failed commit.
 */
import type { StoreEvent } from '../events/events';

export interface MsgRow {
  channel_id: number;
  seq: number;
  ts: number;
  size: number;
  /**
   * The `data` column when it is not the plaintext at `src`: the sealed record when
   * encrypting (null until the row is sealed: dispatchSeal, sealRows; an encrypting store
   * never writes a row whose data is null). Null on a store that does not encrypt: the row
   * is written from `src` (rowData), so a stored message costs no Buffer view of its own
   * (docs/performance.md, "FILE main thread, round 6").
   */
  data: Buffer | null;
  /** The marshalled MsgProto is `src[at, at + size)` (the cached message's bytes, read only). */
  src: Buffer;
  at: number;
  /** Set while the row is being sealed by the worker: settles when `data` is set (or failed). */
  sealing?: Promise<void>;
}

export interface Pending {
  msgs: MsgRow[];
  msgBytes: number;
  events: StoreEvent[];
  /** channel_id → delete every message below this sequence */
  truncates: Map<number, number>;
  /** channels whose rows go away entirely */
  dropChannels: number[];
  waiters: Array<{ resolve: () => void; reject: (err: Error) => void }>;
  /**
   * Holds rows of a batch whose commit failed. The failure may have hidden a commit that
   * did land (the connection broke while COMMIT was answered): such a batch is written so
   * that rows already there are skipped (see writeBatch), and its events may be appended a
   * second time, which replay tolerates (evolve is idempotent for a batch applied twice in a
   * row: every event sets state, none accumulates).
   */
  retry: boolean;
  /**
   * A part of a refused batch holding message rows only (splitPending): written without the
   * retention deletes the store owes, so that a refusal can only come from its own rows.
   */
  isolating?: boolean;
}

export function newPending(): Pending {
  return { msgs: [], msgBytes: 0, events: [], truncates: new Map(), dropChannels: [], waiters: [], retry: false };
}

function msgPart(msgs: MsgRow[], retry: boolean): Pending {
  const p: Pending = { ...newPending(), msgs, retry };
  for (const m of msgs) p.msgBytes += m.size;
  return p;
}

/**
 * The next transaction's content: everything pending, except that message rows are capped
 * at `maxRows` per transaction (0: no cap). Returns the batch and what stays pending (the
 * rest, and the waiters, whose records are not all durable yet).
 */
export function takeBatch(all: Pending, maxRows: number): { batch: Pending; rest: Pending } {
  if (maxRows <= 0 || all.msgs.length <= maxRows) return { batch: all, rest: newPending() };
  const head: Pending = { ...msgPart(all.msgs.splice(0, maxRows), all.retry), events: all.events, truncates: all.truncates, dropChannels: all.dropChannels };
  all.msgBytes -= head.msgBytes;
  all.events = [];
  all.truncates = new Map();
  all.dropChannels = [];
  return { batch: head, rest: all };
}

/**
 * Puts a batch that was not written back in front of `next` (its waiters were answered
 * already). Marked `retry`: its commit may have landed unseen.
 */
export function requeue(batch: Pending, next: Pending): void {
  next.retry = true;
  next.msgs = batch.msgs.concat(next.msgs);
  next.msgBytes += batch.msgBytes;
  next.events = batch.events.concat(next.events);
  for (const [k, v] of batch.truncates) if (!next.truncates.has(k)) next.truncates.set(k, v);
  next.dropChannels = batch.dropChannels.concat(next.dropChannels);
  // The batch's rows may belong to a channel deleted since they were taken (its DELETE waits
  // in `next`): they now share a transaction with that DELETE, which runs before the rows, so
  // they are left out (see dropChannel). Any of them that did land (the commit's answer was
  // lost) are removed by the DELETE.
  for (const channelID of next.dropChannels) removeChannelRows(next, channelID);
}

/**
 * Puts a batch that was rolled back before its COMMIT (an earlier pipelined transaction
 * failed: commit-flights.ts) back in front of `next` with its waiters, who were not
 * answered: they wait for the retry.
 */
export function requeueWaiting(batch: Pending, next: Pending): void {
  requeue(batch, next);
  next.waiters = batch.waiters.concat(next.waiters);
}

/**
 * Two halves of a refused batch, in commit order, without waiters (the caller answers
 * those once the whole batch is settled): the first half of the message rows with the
 * events and deletes, then the second half; a lone message row is split from the events and
 * deletes it came with. Undefined when nothing is left to split. Halves are written as
 * retries (rows already stored are skipped): a duplicate-key refusal is then resolved by
 * splitting instead of refusing a row that is in fact stored.
 */
export function splitPending(b: Pending): [Pending, Pending] | undefined {
  const others = b.events.length > 0 || b.truncates.size > 0 || b.dropChannels.length > 0;
  let cut: number;
  if (b.msgs.length >= 2) cut = Math.floor(b.msgs.length / 2);
  else if (b.msgs.length === 1 && others) cut = 0;
  else return undefined;
  const first: Pending = { ...msgPart(b.msgs.slice(0, cut), true), events: b.events, truncates: b.truncates, dropChannels: b.dropChannels };
  if (!others) first.isolating = true;
  const second = msgPart(b.msgs.slice(cut), true);
  second.isolating = true;
  return [first, second];
}

/** A part holding one message row and nothing else: the database may refuse it alone. */
export function isLoneMessage(b: Pending): boolean {
  return b.msgs.length === 1 && b.events.length === 0 && b.truncates.size === 0 && b.dropChannels.length === 0;
}

/**
 * Records the deletion of a channel's rows in `p` and takes its rows still pending out of it:
 * a batch runs its channel DELETEs before its message rows (in the same transaction), so
 * written they would outlive the channel in stan_messages, for good. Channel IDs are never
 * reused and a deleted channel records no more rows, so after this no batch at or after the
 * one carrying its DELETE holds a row of it; the batches before it in flight commit first (the
 * DELETE waits for them: BatchWriter.writeIn, the write thread's chaining), or fail and are
 * queued again in front of it, without those rows (requeue). One pass over the pending rows,
 * per deletion only: the write path pays nothing.
 */
export function dropChannel(p: Pending, channelID: number): void {
  removeChannelRows(p, channelID);
  p.dropChannels.push(channelID);
}

function removeChannelRows(p: Pending, channelID: number): void {
  let kept = 0;
  for (let i = 0; i < p.msgs.length; i++) {
    const m = p.msgs[i];
    if (m.channel_id === channelID) p.msgBytes -= m.size;
    else p.msgs[kept++] = m;
  }
  p.msgs.length = kept;
  // Retention deletes of a channel whose rows all go are moot.
  p.truncates.delete(channelID);
}
