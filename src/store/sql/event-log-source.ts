/**
 * The SQL store's event log as a warm follower reads it (src/store/events/log-follower.ts):
 * the newest snapshot, the events after an ID in pages, and the row count used at takeover to
 * prove that no event was missed. Full recovery (recovery.ts) reads the log through it too.
 */
import { EventKind } from '../events/events';
import { decodeEvent } from '../events/event-codec';
import { emptyState } from '../events/projection';
import { decodeSnapshot } from '../events/snapshot';
import type { EventLogSource, LogBase, LoggedEvent } from '../events/log-follower';
import { checkClusterID } from '../contract';
import { num, toBuffer } from './dialect';
import type { SnapshotRead } from './dialect/postgres-copy-out';
import { sqlInt, type PlainRows } from './plain-reads';

type SnapshotRow = { last_event_id: number | string; body: Buffer | Uint8Array };
type EventRow = { event_id: number | string; kind: number | string; body: Buffer | Uint8Array };

export class SqlEventLogSource implements EventLogSource {
  constructor(
    /** Plain reads on the store's reader (plain-reads.ts). */
    private readonly rows: PlainRows,
    private readonly clusterID: string,
    /** The dialect's faster read of the newest snapshot (DialectAdapter.readSnapshot), if any. */
    private readonly readSnapshot?: SnapshotRead,
  ) {}

  /** Refuses (throws StoreError) a database that belongs to another cluster. */
  async loadBase(): Promise<LogBase | undefined> {
    const [server] = (await this.rows('SELECT cluster_id FROM stan_server WHERE id = 1')) as Array<{ cluster_id: string }>;
    if (server === undefined) return undefined;
    checkClusterID(server.cluster_id, this.clusterID, 'database');
    const snap = await this.newestSnapshot();
    if (snap === undefined) return { state: emptyState(), mark: 0 };
    return { state: decodeSnapshot(snap.body), mark: snap.lastEventID };
  }

  private async newestSnapshot(): Promise<{ lastEventID: number; body: Buffer } | undefined> {
    if (this.readSnapshot !== undefined) return this.readSnapshot();
    const [snap] = (await this.rows('SELECT last_event_id, body FROM stan_snapshots ORDER BY snapshot_id DESC LIMIT 1')) as SnapshotRow[];
    return snap === undefined ? undefined : { lastEventID: num(snap.last_event_id), body: toBuffer(snap.body) };
  }

  async snapshotMark(): Promise<number> {
    const [snap] = (await this.rows('SELECT last_event_id FROM stan_snapshots ORDER BY snapshot_id DESC LIMIT 1')) as Array<Pick<SnapshotRow, 'last_event_id'>>;
    return snap === undefined ? 0 : num(snap.last_event_id);
  }

  async eventsAfter(afterID: number, limit: number): Promise<LoggedEvent[]> {
    const rows = (await this.rows(`SELECT event_id, kind, body FROM stan_events WHERE event_id > ${sqlInt(afterID)} ORDER BY event_id LIMIT ${sqlInt(limit)}`)) as EventRow[];
    return rows.map((r) => ({ id: num(r.event_id), event: decodeEvent(num(r.kind) as EventKind, toBuffer(r.body)) }));
  }

  async countEvents(afterID: number, upToID: number): Promise<number> {
    const [row] = (await this.rows(`SELECT COUNT(*) AS n FROM stan_events WHERE event_id > ${sqlInt(afterID)} AND event_id <= ${sqlInt(upToID)}`)) as Array<{ n: number | string }>;
    return row === undefined ? 0 : num(row.n);
  }
}
