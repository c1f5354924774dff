/**
 * The SQL store's event log as a warm follower reads it (src/store/events/log-follower.ts):
 * the newest snapshot, the events after an ID in pages, and the row count used at takeover to
 * prove that no event was missed. Full recovery (recovery.ts) reads the log through it too,
 * its first reads in one round trip (log-prefetch.ts).
 */
import { EventKind } from '../events/events';
import { decodeEvent } from '../events/event-codec';
import { emptyState } from '../events/projection';
import { decodeSnapshot } from '../events/snapshot';
import type { EventLogSource, LogBase, LoggedEvent } from '../events/log-follower';
import { checkClusterID } from '../contract';
import { num, toBuffer } from './dialect';
import type { SnapshotRead } from './dialect/postgres-copy-out';
import { sqlInt, type PlainRows, type PlainRowsMulti } from './plain-reads';
import { NEWEST_SNAPSHOT_SQL, prefetchLog, SERVER_ROW_SQL, SNAPSHOT_MARK_SQL, type EventRow, type PrefetchedReads, type ServerRow, type SnapshotRow } from './log-prefetch';

/** The first loadBase's reads in one round trip, with the follower's page size. */
export interface LogPrefetchOptions {
  multi: PlainRowsMulti;
  page: number;
}

export class SqlEventLogSource implements EventLogSource {
  /** Answers read ahead by the first loadBase (log-prefetch.ts), until one does not match. */
  private prefetched: PrefetchedReads | undefined;

  constructor(
    /** Plain reads on the store's reader (plain-reads.ts). */
    private readonly rows: PlainRows,
    private readonly clusterID: string,
    /** The dialect's faster read of the newest snapshot (DialectAdapter.readSnapshot), if any. */
    private readonly readSnapshot?: SnapshotRead,
    /** Read the first loadBase's statements in one round trip (a one-shot recovery). */
    private prefetch?: LogPrefetchOptions,
  ) {}

  /** Refuses (throws StoreError) a database that belongs to another cluster. */
  async loadBase(): Promise<LogBase | undefined> {
    const p = this.prefetch;
    this.prefetch = undefined;
    const ahead = p === undefined ? undefined : await prefetchLog(p.multi, p.page, this.readSnapshot === undefined);
    const server = ahead !== undefined ? ahead.server : ((await this.rows(SERVER_ROW_SQL)) as ServerRow[])[0];
    if (server === undefined) return undefined;
    checkClusterID(server.cluster_id, this.clusterID, 'database');
    let snap: { lastEventID: number; body: Buffer } | undefined;
    if (ahead === undefined) snap = await this.newestSnapshot();
    else {
      // With a separate snapshot read (PostgreSQL's COPY) only when there is one, and of the same mark.
      snap = ahead.snapshot === undefined ? undefined : await this.snapshotOf(ahead.snapshot);
      if ((snap?.lastEventID ?? 0) === ahead.mark) this.prefetched = ahead.reads;
    }
    if (snap === undefined) return { state: emptyState(), mark: 0 };
    return { state: decodeSnapshot(snap.body), mark: snap.lastEventID };
  }

  private async snapshotOf(row: SnapshotRow): Promise<{ lastEventID: number; body: Buffer } | undefined> {
    if (row.body === undefined) return this.newestSnapshot();
    return { lastEventID: num(row.last_event_id), body: toBuffer(row.body) };
  }

  private async newestSnapshot(): Promise<{ lastEventID: number; body: Buffer } | undefined> {
    if (this.readSnapshot !== undefined) return this.readSnapshot();
    const [snap] = (await this.rows(NEWEST_SNAPSHOT_SQL)) as SnapshotRow[];
    return snap === undefined ? undefined : { lastEventID: num(snap.last_event_id), body: toBuffer(snap.body ?? Buffer.alloc(0)) };
  }

  async snapshotMark(): Promise<number> {
    const ahead = this.prefetched?.snapshotMark();
    if (ahead !== undefined) return ahead;
    const [snap] = (await this.rows(SNAPSHOT_MARK_SQL)) as Array<Pick<SnapshotRow, 'last_event_id'>>;
    return snap === undefined ? 0 : num(snap.last_event_id);
  }

  async eventsAfter(afterID: number, limit: number): Promise<LoggedEvent[]> {
    const rows = this.prefetched?.eventsAfter(afterID, limit) ?? ((await this.rows(`SELECT event_id, kind, body FROM stan_events WHERE event_id > ${sqlInt(afterID)} ORDER BY event_id LIMIT ${sqlInt(limit)}`)) as EventRow[]);
    return rows.map((r) => ({ id: num(r.event_id), event: decodeEvent(num(r.kind) as EventKind, toBuffer(r.body)) }));
  }

  async countEvents(afterID: number, upToID: number): Promise<number> {
    const ahead = this.prefetched?.countEvents(afterID, upToID);
    if (ahead !== undefined) return ahead;
    const [row] = (await this.rows(`SELECT COUNT(*) AS n FROM stan_events WHERE event_id > ${sqlInt(afterID)} AND event_id <= ${sqlInt(upToID)}`)) as Array<{ n: number | string }>;
    return row === undefined ? 0 : num(row.n);
  }
}
