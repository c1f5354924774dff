/**
 * A recovery's first reads of the event log in one round trip (plain-reads.ts PlainRowsMulti):
 * the stan_server row, the newest snapshot, the first page of events after it, the newest
 * snapshot's mark read again after that page, and the count and highest ID of the events after
 * the mark. A restart's recovery asked for these one after the other — five round trips on
 * PostgreSQL and MariaDB, each one a few ms on loopback and more over a network — with nothing
 * to compute in between (docs/startup.md has the measured breakdown).
 *
 * The answers are then handed to the log follower's calls (log-follower.ts) only when the call
 * asks exactly what was read, in the order it reads (events after the mark, then the mark
 * again, then the count from the mark to the last event read); any other call, or any answer
 * that shows a snapshot written between the statements, drops what is left and reads as before.
 * So the recovered state is the one the statements one at a time give.
 */
import { num } from './dialect';
import { sqlInt, type PlainRowsMulti } from './plain-reads';

export const SERVER_ROW_SQL = 'SELECT cluster_id FROM stan_server WHERE id = 1';
export const SNAPSHOT_MARK_SQL = 'SELECT last_event_id FROM stan_snapshots ORDER BY snapshot_id DESC LIMIT 1';
export const NEWEST_SNAPSHOT_SQL = 'SELECT last_event_id, body FROM stan_snapshots ORDER BY snapshot_id DESC LIMIT 1';
/** The newest snapshot's mark inside a statement (0 without a snapshot). */
const MARK_EXPR = `COALESCE((${SNAPSHOT_MARK_SQL}), 0)`;

export type ServerRow = { cluster_id: string };
export type SnapshotRow = { last_event_id: number | string; body?: Buffer | Uint8Array };
export type EventRow = { event_id: number | string; kind: number | string; body: Buffer | Uint8Array };

/** What the one round trip read. */
export interface PrefetchedLog {
  server: ServerRow | undefined;
  /** The newest snapshot's row (with its body unless read otherwise: PostgreSQL's COPY). */
  snapshot: SnapshotRow | undefined;
  /** The mark the events were read after (0 without a snapshot). */
  mark: number;
  /** The reads after the mark, answered in order while they match (see the file comment). */
  reads: PrefetchedReads;
}

/**
 * One round trip. `withBody`: read the snapshot's body in the same statement.
 *
 * A failure is the recovery's failure, not retried one statement at a time: the schema check
 * has just found every table, so what fails here (the connection lost, a query cancelled by a
 * DBA, a table dropped meanwhile) fails the same way and with the same database error one
 * statement at a time; retrying would only wait again where a start-up must stop (a recovery
 * whose lock wait was cancelled would queue behind the same lock).
 */
export async function prefetchLog(multi: PlainRowsMulti, page: number, withBody: boolean): Promise<PrefetchedLog> {
  const r = await multi([
    SERVER_ROW_SQL,
    withBody ? NEWEST_SNAPSHOT_SQL : SNAPSHOT_MARK_SQL,
    `SELECT event_id, kind, body FROM stan_events WHERE event_id > ${MARK_EXPR} ORDER BY event_id LIMIT ${sqlInt(page)}`,
    SNAPSHOT_MARK_SQL,
    `SELECT COUNT(*) AS n, MAX(event_id) AS hi FROM stan_events WHERE event_id > ${MARK_EXPR}`,
  ]);
  const [server] = r[0] as ServerRow[];
  const [snapshot] = r[1] as SnapshotRow[];
  const mark = snapshot === undefined ? 0 : num(snapshot.last_event_id);
  const [after] = r[3] as Array<{ last_event_id: number | string }>;
  const markAfter = after === undefined ? 0 : num(after.last_event_id);
  const [count] = r[4] as Array<{ n: number | string; hi: number | string | null }>;
  const reads = new PrefetchedReads(mark, page, r[2] as EventRow[], markAfter, num(count?.n ?? 0), count === undefined || count.hi === null ? mark : num(count.hi));
  // A snapshot written between the statements: the events may follow another mark.
  if (markAfter !== mark) reads.drop();
  return { server, snapshot, mark, reads };
}

/** The prefetched answers of eventsAfter, snapshotMark and countEvents, each once, in order. */
export class PrefetchedReads {
  private step: 'events' | 'mark' | 'count' | 'done' = 'events';

  constructor(
    private readonly mark: number,
    private readonly page: number,
    private readonly events: EventRow[],
    private readonly markAfter: number,
    private readonly count: number,
    private readonly highestID: number,
  ) {}

  /** Nothing more is answered from the prefetch. */
  drop(): void {
    this.step = 'done';
  }

  /** The events after `afterID` (at most `limit`) if that is what was read, else undefined. */
  eventsAfter(afterID: number, limit: number): EventRow[] | undefined {
    if (this.step !== 'events' || afterID !== this.mark || limit !== this.page) return this.miss();
    // A full page is followed by another page read, not by the mark: nothing more to answer.
    this.step = this.events.length < limit ? 'mark' : 'done';
    return this.events;
  }

  /** The mark read after the events, when asked right after them. */
  snapshotMark(): number | undefined {
    if (this.step !== 'mark') return this.miss();
    this.step = 'count';
    return this.markAfter;
  }

  /** The count from the mark to the highest event ID, when asked for exactly that range. */
  countEvents(afterID: number, upToID: number): number | undefined {
    if (this.step !== 'count' || afterID !== this.mark || upToID !== this.highestID) return this.miss();
    this.step = 'done';
    return this.count;
  }

  private miss(): undefined {
    this.step = 'done';
    return undefined;
  }
}
