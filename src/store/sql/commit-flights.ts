/**
 * Pipelined group commit: up to `depth` transactions in flight on the writer's pooled
 * connections, committed strictly in batch order.
 *
 * A batch is launched once the transaction before it has written its event rows (so event
 * IDs, which recovery reads in order, follow the batch order), and it sends its COMMIT only
 * once the transaction before it committed (CommitGate.mayCommit). So the rows of batch n+1
 * travel while the COMMIT of batch n is in flight, yet the log never holds a later batch
 * without the earlier one: when a transaction fails, every later one is rolled back instead
 * of committed (nothing of it is visible), and the commit loop queues them again, in order,
 * behind the failed one (sql-store.ts). Results are taken from the head only, so waiters are
 * resolved (PubAcks sent) in log order.
 *
 * Measured on this machine: see docs/performance.md ("Pipelined group commit").
 */
import type { CommitGate } from './batch-writer';
import { writeSplitting, type SplitOps, type SplitResult } from './batch-splitter';

/** A transaction refused to commit because the one before it failed: nothing of it was committed. */
export class EarlierCommitFailedError extends Error {
  constructor() {
    super('an earlier group commit failed; this batch was rolled back and is queued again behind it');
    this.name = 'EarlierCommitFailedError';
  }
}

export interface FlightOps<P> extends Omit<SplitOps<P>, 'write'> {
  write(part: P, gate?: CommitGate): Promise<void>;
}

export interface Flight<P> {
  readonly batch: P;
  /** performance.now() at launch. */
  readonly started: number;
  /** The batch written (or not), once every attempt and split of it settled. */
  readonly result: Promise<SplitResult<P>>;
  /**
   * True when an earlier transaction failed, so this one rolled back without committing
   * anything: its batch is queued again whole, its waiters keep waiting.
   */
  readonly rolledBack: () => boolean;
}

interface Slot<P> extends Omit<Flight<P>, 'result'> {
  result: Promise<SplitResult<P>>;
  /** Its first transaction wrote its events (the next may start), or ended. */
  atGate: boolean;
  reachedGate: Promise<void>;
  /** The outcome of its first transaction; undefined while in flight. */
  firstOk: boolean | undefined;
  firstDone: Promise<boolean>;
  /** Set once `result` settled. */
  settled: SplitResult<P> | undefined;
}

export class CommitFlights<P> {
  private readonly slots: Array<Slot<P>> = [];

  constructor(
    /** Transactions in flight at most (1: one at a time, no gate). */
    private readonly depth: number,
    private readonly ops: FlightOps<P>,
  ) {}

  get size(): number {
    return this.slots.length;
  }

  /**
   * A new batch may start now: a slot is free, the last transaction has written its events,
   * and none has failed (after a failure the later ones drain first, then are queued again).
   */
  canLaunch(): boolean {
    if (this.slots.length === 0) return true;
    if (this.slots.length >= this.depth) return false;
    const tail = this.slots[this.slots.length - 1];
    return tail.atGate && this.slots.every((s) => s.firstOk !== false);
  }

  launch(batch: P): void {
    const prev = this.slots[this.slots.length - 1];
    let onGate = (): void => undefined;
    let onFirst: (ok: boolean) => void = () => undefined;
    let rolledBack = false;
    const slot: Slot<P> = {
      batch,
      started: performance.now(),
      atGate: false,
      reachedGate: new Promise<void>((r) => (onGate = r)),
      firstOk: undefined,
      firstDone: new Promise<boolean>((r) => (onFirst = r)),
      result: Promise.resolve({ written: [], refused: [] }),
      rolledBack: () => rolledBack,
      settled: undefined,
    };
    const markGate = (): void => {
      if (slot.atGate) return;
      slot.atGate = true;
      onGate();
    };
    const mayCommit = async (): Promise<void> => {
      if (prev === undefined || (await prev.firstDone)) return;
      rolledBack = true;
      throw new EarlierCommitFailedError();
    };
    const earlier = (): 'pending' | 'ok' | 'failed' => (prev === undefined || prev.firstOk === true ? 'ok' : prev.firstOk === undefined ? 'pending' : 'failed');
    const gate: CommitGate | undefined = this.depth > 1 ? { first: prev === undefined, ready: markGate, mayCommit, earlier } : undefined;
    let first = true;
    slot.result = writeSplitting(batch, {
      write: async (part) => {
        if (!first) {
          // The halves of a refused batch: never committed before the earlier transaction.
          await mayCommit();
          return this.ops.write(part);
        }
        first = false;
        try {
          await this.ops.write(part, gate);
          slot.firstOk = true;
        } catch (err) {
          slot.firstOk = false;
          throw err;
        } finally {
          onFirst(slot.firstOk === true);
          markGate();
        }
      },
      classify: (err) => (rolledBack ? 'transient' : this.ops.classify(err)),
      split: (part) => (rolledBack ? undefined : this.ops.split(part)),
      refusable: (part) => !rolledBack && this.ops.refusable(part),
    });
    void slot.result.then((r) => (slot.settled = r));
    this.slots.push(slot);
  }

  /**
   * Waits until the head flight settled (returned, and removed), or until `canLaunch()` may
   * have become true (the tail reached its gate, or `wake` resolved: new work): undefined.
   */
  async next(wake: Promise<void>): Promise<{ flight: Flight<P>; result: SplitResult<P> } | undefined> {
    const head = this.slots[0];
    if (head === undefined) return undefined;
    const tail = this.slots[this.slots.length - 1];
    const waits: Array<Promise<unknown>> = [head.result];
    if (this.slots.length < this.depth && this.slots.every((s) => s.firstOk !== false)) waits.push(tail.atGate ? wake : tail.reachedGate);
    await Promise.race(waits);
    // `settled` is set by the first reaction to `result`, which ran before ours.
    const settled = head.settled;
    if (settled === undefined) return undefined;
    this.slots.shift();
    return { flight: head, result: settled };
  }

  /** After the head failed: waits for every later flight (each rolls back) and removes them, in order. */
  async drain(): Promise<Array<Flight<P>>> {
    const rest = this.slots.splice(0);
    await Promise.all(rest.map((s) => s.result));
    return rest;
  }
}
