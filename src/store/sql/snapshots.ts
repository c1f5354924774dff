/**
 * Snapshots of the SQL store: when one is due (event count or age), and writing one, which
 * also compacts (the events it covers and older snapshots are deleted in its transaction).
 */
import type { Knex } from 'knex';
import type { ProjectedState } from '../events/projection';
import { encodeSnapshot } from '../events/snapshot';
import { num } from './dialect';

/** Snapshot after this many events since the last one… */
export const SNAPSHOT_EVERY_EVENTS = 50_000;
/** …or after this long with at least one event (ms). */
export const SNAPSHOT_EVERY_MS = 5 * 60_000;
/** Message rows weigh this much less than events in the snapshot trigger (they replay as an aggregate). */
const MSGS_PER_EVENT = 20;

export class SnapshotSchedule {
  private eventsSince = 0;
  private lastAt: number;

  constructor(private readonly now: () => number) {
    this.lastAt = now();
  }

  /** A committed part: its events, and its message rows (replayed as an aggregate, so lighter). */
  committed(events: number, msgs: number): void {
    this.eventsSince += events + msgs / MSGS_PER_EVENT;
  }

  get pending(): boolean {
    return this.eventsSince > 0;
  }

  due(): boolean {
    if (this.eventsSince >= SNAPSHOT_EVERY_EVENTS) return true;
    return this.eventsSince > 0 && this.now() - this.lastAt >= SNAPSHOT_EVERY_MS;
  }

  written(): void {
    this.eventsSince = 0;
    this.lastAt = this.now();
  }
}

/**
 * Writes the projection (= committed state) and compacts: the events it covers and older
 * snapshots are deleted in the same transaction. The caller runs it inside the commit loop, so
 * no batch is in flight.
 */
export async function writeSnapshot(
  knex: Knex,
  projection: ProjectedState,
  fence: ((trx: Knex.Transaction) => Promise<void>) | undefined,
  nowMs: number,
): Promise<void> {
  await knex.transaction(async (trx) => {
    await fence?.(trx);
    const row = await trx('stan_events').max({ m: 'event_id' }).first();
    const lastEventID = num((row as { m?: number | string | null } | undefined)?.m ?? 0);
    if (lastEventID === 0 && projection.serverInfo === undefined) return;
    projection.lastEventID = Math.max(lastEventID, projection.lastEventID);
    const body = Buffer.from(encodeSnapshot(projection));
    await trx('stan_snapshots').insert({ last_event_id: projection.lastEventID, created_at: nowMs, body });
    await trx('stan_events').where('event_id', '<=', projection.lastEventID).del();
    const newest = await trx('stan_snapshots').max({ m: 'snapshot_id' }).first();
    const newestID = num((newest as { m?: number | string | null } | undefined)?.m ?? 0);
    await trx('stan_snapshots').where('snapshot_id', '<', newestID).del();
  });
}
