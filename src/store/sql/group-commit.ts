/**
 * The SQL store's group commit, the server's only batching layer (docs/design/event-store.md):
 * what the store records waits in `pending`; `commit()` joins the next batch; the loop writes
 * batches (up to `depth` transactions in flight, commit-flights.ts), settles them strictly in
 * order, bisects a refused batch down to the rows refused (batch-splitter.ts), and retries or
 * fails the store (commit-errors.ts). Acks and deliveries nobody awaits are committed by a
 * background commit at most BACKGROUND_COMMIT_MS after they were recorded.
 *
 * The store (sql-store.ts) records into `pending`/`progress` and folds what this reports
 * committed into its projection (GroupCommitHost).
 */
import type { DialectName } from './dialect';
import { isLoneMessage, newPending, requeue, requeueWaiting, splitPending, takeBatch, type MsgRow, type Pending } from './pending-batch';
import { writeSplitting, type SplitResult } from './batch-splitter';
import type { CommitGate } from './batch-writer';
import { CommitFlights, type Flight } from './commit-flights';
import { RetryPause } from './retry-pause';
import { classifyCommitError, FAILED_RETRY_MS, failedStoreReason, refusedMessageReason } from './commit-errors';
import { ProgressCoalescer } from './progress';
import { StoreError, StoreUnavailableError } from '../contract';
import { toError } from '../../errors';

/** Pause between attempts while commits fail for a transient reason (database down). */
const RETRY_MS = 200;
/** Acks and deliveries nobody awaits are committed at most this long after they were recorded. */
const BACKGROUND_COMMIT_MS = 50;

/** What settling a written batch reads of its flight (a lone write has no CommitFlights slot). */
type SettledFlight = Pick<Flight<Pending>, 'batch' | 'started' | 'rolledBack'>;

/** What the group commit needs of its store. */
export interface GroupCommitHost {
  readonly dialect: DialectName;
  /** Writes one batch in one transaction (batch-writer.ts). */
  write(part: Pending, gate?: CommitGate): Promise<void>;
  /** A part is committed: fold it into the committed state. */
  committed(part: Pending): void;
  /** A lone message row the database refuses for good: tell its publisher `why`. */
  refused(row: MsgRow, why: string): void;
  /** A snapshot is due; it waits until nothing is in flight (it captures the committed state). */
  snapshotDue(): boolean;
  writeSnapshot(): Promise<void>;
  /** After each successful batch: message rows, event rows, duration (s). */
  onCommit(rows: number, events: number, seconds: number): void;
  onError(err: Error): void;
}

export interface GroupCommitOptions {
  /** Transactions in flight at most (commit-flights.ts). */
  depth: number;
  /** Rows per batch at most (0: no limit). */
  maxBatchRows: number;
  /** io_sleep_time: wait this long for more before a commit starts (0: the end of the event-loop turn). */
  ioSleepMicros: number;
}

export class GroupCommit {
  /** Recorded and not yet in a batch. */
  pending: Pending = newPending();
  /** Sent/acked progress, coalesced into events when a batch is taken. */
  readonly progress = new ProgressCoalescer();
  /**
   * Set while the store cannot write until someone fixes the database (commit-errors.ts:
   * schema errors, or a refused record that may not be dropped): why, and what to do. New
   * commits are refused at once meanwhile; the queued work is retried every FAILED_RETRY_MS
   * and this clears on the first commit that works.
   */
  failure: string | undefined;
  /** The last commit error while commits fail for a transient reason (/readyz says it). */
  lastError: string | undefined;
  private running = false;
  private closing = false;
  private closed = false;
  private bgTimer: NodeJS.Timeout | undefined;
  /** Set while the loop waits with a free slot: a new commit() wakes it. */
  private wakeLoop: (() => void) | undefined;
  private readonly retryPause = new RetryPause();

  constructor(
    private readonly host: GroupCommitHost,
    private readonly o: GroupCommitOptions,
  ) {}

  /** Joins the next group commit; resolves once what was recorded before is committed. */
  commit(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('store closed'));
    // Failed: what was recorded stays queued for the next attempt, but nobody waits for it.
    if (this.failure !== undefined && !this.closing) return Promise.reject(new StoreUnavailableError(`store failed: ${this.failure}`));
    return new Promise((resolve, reject) => {
      this.pending.waiters.push({ resolve, reject });
      if (!this.running) this.start();
      else this.wakeLoop?.();
    });
  }

  /**
   * Acks and deliveries are recorded without anyone awaiting a commit: make sure they are
   * written soon even when no publish or request follows (at most ~50 ms later), so a crash
   * does not redeliver messages that were acknowledged long ago.
   */
  scheduleBackground(): void {
    if (this.running || this.bgTimer !== undefined || this.closing) return;
    this.bgTimer = setTimeout(() => {
      this.bgTimer = undefined;
      if (!this.running && !this.closing) this.start();
    }, BACKGROUND_COMMIT_MS);
  }

  hasWork(): boolean {
    return this.pending.waiters.length > 0 || this.pending.msgs.length > 0 || this.pending.events.length > 0 || this.progress.size > 0;
  }

  /** Close, first step: no background commits; a failed store's last attempt is made now. */
  beginClose(): void {
    this.closing = true;
    if (this.bgTimer) clearTimeout(this.bgTimer);
    this.retryPause.wake();
  }

  /** The loop may still be finishing (e.g. a snapshot) after the last commit resolved. */
  async idle(): Promise<void> {
    while (this.running) await new Promise((r) => setTimeout(r, 5));
  }

  /** Close, last step: nothing is retried any more (the connections are about to go). */
  markClosed(): void {
    this.closed = true;
    this.retryPause.wake();
  }

  private start(): void {
    this.running = true;
    // Let the current event-loop turn finish recording: everything it adds joins this batch
    // (optionally wait io_sleep_time for more).
    if (this.o.ioSleepMicros > 0) setTimeout(() => void this.loop(), this.o.ioSleepMicros / 1000);
    else setImmediate(() => void this.loop());
  }

  /**
   * Writes batches until nothing is pending, up to `depth` transactions in flight. A lone
   * message row refused for good is dropped and its publisher told; any other failure keeps
   * the rows queued, fails the waiters and pauses (RETRY_MS, or FAILED_RETRY_MS once the
   * store is failed) before retrying. The transactions behind a failed one roll back and are
   * queued again behind it, their waiters still waiting: nothing later is acked before it.
   */
  private async loop(): Promise<void> {
    let flights: CommitFlights<Pending> | undefined;
    try {
      for (;;) {
        if ((flights === undefined || flights.size === 0) && this.isLone() && !this.closed) {
          if (!(await this.afterSettle(await this.writeLone()))) break;
          continue;
        }
        flights ??= new CommitFlights<Pending>(this.o.depth, {
          write: (part, gate) => this.host.write(part, gate),
          classify: (err) => classifyCommitError(this.host.dialect, err),
          split: splitPending,
          refusable: isLoneMessage,
        });
        // A snapshot captures the committed state: it waits until nothing is in flight.
        if (this.hasWork() && flights.canLaunch() && !this.closed && (flights.size === 0 || !this.host.snapshotDue())) {
          this.progress.flushInto(this.pending.events);
          const { batch, rest } = takeBatch(this.pending, this.o.maxBatchRows);
          this.pending = rest;
          flights.launch(batch);
          continue;
        }
        if (flights.size === 0) break;
        const woken = new Promise<void>((r) => (this.wakeLoop = r));
        const done = await flights.next(woken);
        this.wakeLoop = undefined;
        if (done === undefined) {
          // New work or a free slot: let the current event-loop turn finish recording first.
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const ok = done.result.stopped === undefined ? this.settleWritten(done.flight, done.result) : this.settleStopped(done.flight, done.result, await flights.drain());
        if (!(await this.afterSettle(ok, flights.size === 0))) break;
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * After a batch settled (`ok`: written, or rolled back behind an earlier failure; false:
   * failed on its own): pauses before the retry of a failed one, then writes a snapshot that
   * is due once nothing is in flight (`idle`). False: the loop stops (the store closed).
   */
  private async afterSettle(ok: boolean, idle = true): Promise<boolean> {
    if (!ok) {
      // A closed store stops retrying (its connections are gone).
      if (this.closed) return false;
      // A failed store waits for someone to fix the database: retrying fast only
      // floods it. Its new commits are answered at once meanwhile (see commit()).
      await this.retryPause.wait(this.failure !== undefined ? FAILED_RETRY_MS : RETRY_MS);
      if (this.closed) return false;
    }
    if (idle && this.host.snapshotDue()) await this.host.writeSnapshot().catch((err: unknown) => this.host.onError(toError(err)));
    return true;
  }

  /**
   * What is pending is one message row and at most one waiter, nothing else (a sync
   * publisher's commit): written by writeLone, without the flights' pipelining machinery.
   */
  private isLone(): boolean {
    const p = this.pending;
    return p.msgs.length === 1 && p.waiters.length <= 1 && p.events.length === 0 && this.progress.size === 0 && p.truncates.size === 0 && p.dropChannels.length === 0;
  }

  /**
   * A lone batch (isLone) written while nothing else is in flight: the same write as the
   * first flight's (no transaction before it: no gate), settled the same way, without a
   * CommitFlights, its slot's promises and the race between them per commit. Commits asked
   * meanwhile wait in `pending` for the loop, as behind a flight. A failed write goes through
   * writeSplitting with this attempt as its first, so a refused row, a transient failure
   * (queued again as a retry) and a schema error are handled exactly as for a flight.
   * Measured: docs/performance.md ("Sync publishing, round 3").
   */
  private async writeLone(): Promise<boolean> {
    const batch = this.pending;
    this.pending = newPending();
    const flight = { batch, started: performance.now(), rolledBack: () => false };
    let result: SplitResult<Pending>;
    try {
      await this.host.write(batch);
      result = { written: [batch], refused: [] };
    } catch (error) {
      let failed: unknown = error;
      result = await writeSplitting(batch, {
        write: (part) => {
          if (failed === undefined) return this.host.write(part);
          const e = failed;
          failed = undefined;
          return Promise.reject(e);
        },
        classify: (err) => classifyCommitError(this.host.dialect, err),
        split: splitPending,
        refusable: isLoneMessage,
      });
    }
    return result.stopped === undefined ? this.settleWritten(flight, result) : this.settleStopped(flight, result, []);
  }

  private settleWritten(flight: SettledFlight, result: SplitResult<Pending>): true {
    for (const part of result.written) this.host.committed(part);
    for (const { part, error } of result.refused) this.host.refused(part.msgs[0], refusedMessageReason(error));
    this.lastError = undefined;
    this.failure = undefined;
    this.host.onCommit(flight.batch.msgs.length - result.refused.length, flight.batch.events.length, (performance.now() - flight.started) / 1000);
    for (const w of flight.batch.waiters) w.resolve();
    return true;
  }

  /**
   * The head flight stopped: the later ones (`after`, all rolled back) go back in front of the
   * queue with their waiters, and the head's unwritten parts in front of them. Returns false
   * when the head failed on its own (pause before the retry); true when it was only rolled
   * back behind an earlier failure (already answered).
   */
  private settleStopped(flight: SettledFlight, result: SplitResult<Pending>, after: Array<Flight<Pending>>): boolean {
    for (let i = after.length - 1; i >= 0; i--) requeueWaiting(after[i].batch, this.pending);
    if (flight.rolledBack()) {
      requeueWaiting(flight.batch, this.pending);
      return true;
    }
    for (const part of result.written) this.host.committed(part);
    for (const { part, error } of result.refused) this.host.refused(part.msgs[0], refusedMessageReason(error));
    const stopped = result.stopped as NonNullable<SplitResult<Pending>['stopped']>;
    const e = toError(stopped.error);
    this.lastError = e.message;
    // Keep the rows: the in-memory state already contains them, so they are written by
    // the next successful commit (at-least-once for the publishers that got an error).
    for (let i = stopped.unwritten.length - 1; i >= 0; i--) requeue(stopped.unwritten[i], this.pending);
    if (stopped.kind !== 'transient') this.failure = failedStoreReason(stopped.kind, e);
    const err = this.failure !== undefined ? new StoreUnavailableError(`store failed: ${this.failure}`) : e;
    for (const w of flight.batch.waiters) w.reject(err);
    this.host.onError(err);
    return false;
  }
}
