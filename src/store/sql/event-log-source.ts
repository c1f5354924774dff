/**
 * The SQL store's event log as a warm follower reads it (src/store/events/log-follower.ts):
 * the newest snapshot, the events after an ID in pages, and the row count used at takeover to
 * prove that no event was missed. Full recovery (recovery.ts) reads the log through it too.
 */
import type { Kysely } from 'kysely';
import { EventKind } from '../events/events';
import { decodeEvent } from '../events/event-codec';
import { emptyState } from '../events/projection';
import { decodeSnapshot } from '../events/snapshot';
import type { EventLogSource, LogBase, LoggedEvent } from '../events/log-follower';
import { checkClusterID } from '../contract';
import { num, toBuffer } from './dialect';
import type { Database } from './schema';
import type { SnapshotRead } from './dialect/postgres-copy-out';

export class SqlEventLogSource implements EventLogSource {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clusterID: string,
    /** The dialect's faster read of the newest snapshot (DialectAdapter.readSnapshot), if any. */
    private readonly readSnapshot?: SnapshotRead,
  ) {}

  /** Refuses (throws StoreError) a database that belongs to another cluster. */
  async loadBase(): Promise<LogBase | undefined> {
    const server = await this.db.selectFrom('stan_server').select(['cluster_id']).where('id', '=', 1).executeTakeFirst();
    if (server === undefined) return undefined;
    checkClusterID(server.cluster_id, this.clusterID, 'database');
    const snap = await this.newestSnapshot();
    if (snap === undefined) return { state: emptyState(), mark: 0 };
    return { state: decodeSnapshot(snap.body), mark: snap.lastEventID };
  }

  private async newestSnapshot(): Promise<{ lastEventID: number; body: Buffer } | undefined> {
    if (this.readSnapshot !== undefined) return this.readSnapshot();
    const snap = await this.db.selectFrom('stan_snapshots').select(['last_event_id', 'body']).orderBy('snapshot_id', 'desc').limit(1).executeTakeFirst();
    return snap === undefined ? undefined : { lastEventID: num(snap.last_event_id), body: toBuffer(snap.body) };
  }

  async snapshotMark(): Promise<number> {
    const snap = await this.db.selectFrom('stan_snapshots').select(['last_event_id']).orderBy('snapshot_id', 'desc').limit(1).executeTakeFirst();
    return snap === undefined ? 0 : num(snap.last_event_id);
  }

  async eventsAfter(afterID: number, limit: number): Promise<LoggedEvent[]> {
    const rows = await this.db.selectFrom('stan_events').select(['event_id', 'kind', 'body']).where('event_id', '>', afterID).orderBy('event_id').limit(limit).execute();
    return rows.map((r) => ({ id: num(r.event_id), event: decodeEvent(num(r.kind) as EventKind, toBuffer(r.body)) }));
  }

  async countEvents(afterID: number, upToID: number): Promise<number> {
    const row = await this.db
      .selectFrom('stan_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('event_id', '>', afterID)
      .where('event_id', '<=', upToID)
      .executeTakeFirst();
    return row === undefined ? 0 : num(row.n as number | string);
  }
}
