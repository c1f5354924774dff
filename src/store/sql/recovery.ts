/**
 * Reading the SQL store back at start: the cluster-ID check, the newest snapshot plus the
 * events after it (in pages), the message rows above each channel's projected last sequence
 * (one aggregate per channel), and the key check of the stored payloads.
 */
import type { ProjectedState } from '../events/projection';
import { LogFollower } from '../events/log-follower';
import { describeOpenFailure, EncryptionKeyError, openRecord, type PayloadCipher, PayloadCipherError, rowContext } from '../crypto';
import { num, toBuffer } from './dialect';
import { SqlEventLogSource } from './event-log-source';
import type { SnapshotRead } from './dialect/postgres-copy-out';
import { sqlInt, type PlainRows, type PlainRowsMulti } from './plain-reads';
import { countThrough } from '../limits/span-count';

/** One channel's message rows above its projected last sequence (MIN/MAX/COUNT/SUM). */
type AggregateRow = { channel_id: number | string; lo: number | string; hi: number | string; n: number | string; b: number | string | null };

/** A message row as the key check reads it. */
type StoredRow = { seq: number | string; ts: number | string; data: Buffer | Uint8Array };

/** Events replayed per query while recovering, so memory stays bounded. */
const PAGE = 10_000;
/** Channels whose payloads are key-checked at once. */
const PARALLEL = 4;
/** Channels per message-aggregate query (2 parameters each: below every dialect's limit). */
const AGG_CHANNELS = 250;

export interface LoadedState {
  /** The committed state, or undefined when the database holds no STAN data (first start). */
  state: ProjectedState | undefined;
  /** Events replayed after the snapshot. */
  replayed: number;
}

/**
 * The committed state: snapshot + later events + message-row aggregates. Refuses (throws
 * StoreError) a database that belongs to another cluster. `multi`: the log's first reads in
 * one round trip (log-prefetch.ts).
 */
export async function loadCommittedState(db: PlainRows, clusterID: string, readSnapshot?: SnapshotRead, multi?: PlainRowsMulti): Promise<LoadedState> {
  // A follower that never polled: the same reads, snapshot then every event after it.
  const source = new SqlEventLogSource(db, clusterID, readSnapshot, multi === undefined ? undefined : { multi, page: PAGE });
  const { state, replayed } = await new LogFollower(source, PAGE).handover();
  if (state === undefined) return { state: undefined, replayed: 0 };
  await addMessageAggregates(db, state);
  return { state, replayed };
}

/**
 * Folds into `state` the message rows above each channel's projected last sequence: one
 * aggregate per channel (count, bytes, first/last), computed by the database — neither the
 * payloads nor the rows themselves are loaded (1,000,000 messages recover in well under a
 * second). Message rows are not events, so a warm follower's state needs this at takeover too.
 * Channels go AGG_CHANNELS to a query (one range per channel on the primary key, grouped):
 * a query per channel cost 1,000 round trips for 1,000 channels (~180 ms of a 3.6 s restart
 * under load, docs/performance.md "Restart").
 */
export async function addMessageAggregates(db: PlainRows, state: ProjectedState): Promise<void> {
  const all = [...state.channels.values()];
  for (let i = 0; i < all.length; i += AGG_CHANNELS) {
    const chunk = all.slice(i, i + AGG_CHANNELS);
    const ranges = chunk.map((ch) => `(channel_id = ${sqlInt(ch.id)} AND seq > ${sqlInt(ch.lastSeq)})`).join(' OR ');
    const rows = (await db(
      `SELECT channel_id, MIN(seq) AS lo, MAX(seq) AS hi, COUNT(*) AS n, SUM(size) AS b FROM stan_messages WHERE ${ranges} GROUP BY channel_id`,
    )) as AggregateRow[];
    const byID = new Map(chunk.map((ch) => [ch.id, ch]));
    for (const agg of rows) {
      const ch = byID.get(num(agg.channel_id));
      const n = num(agg.n);
      if (ch === undefined || n === 0) continue;
      // Same result as folding a MsgStored event per row (projection.ts): the count is the
      // span first..last, a refused message (a gap between rows) included.
      countThrough(ch, num(agg.lo));
      countThrough(ch, num(agg.hi));
      ch.byteCount += num(agg.b);
    }
  }
}

/**
 * Startup check that the configured key (or its absence) fits the stored messages: the
 * oldest and newest row of every channel are opened. Refusing to start with a clear reason
 * beats serving and failing each delivery of an old message later. Returns channel id →
 * timestamp of its newest row (read here anyway, or the newest below the last sequence when
 * that one has no row): recovery restores it.
 */
export async function verifyStoredPayloads(
  db: PlainRows,
  cipher: PayloadCipher | undefined,
  channels: Array<{ id: number; name: string; first: number; last: number }>,
): Promise<Map<number, number>> {
  const lastTimestamps = new Map<number, number>();
  for (let i = 0; i < channels.length; i += PARALLEL) {
    await Promise.all(
      channels.slice(i, i + PARALLEL).map(async (ch) => {
        const seqs = ch.first === ch.last ? sqlInt(ch.first) : `${sqlInt(ch.first)}, ${sqlInt(ch.last)}`;
        const rows = (await db(`SELECT seq, ts, data FROM stan_messages WHERE channel_id = ${sqlInt(ch.id)} AND seq IN (${seqs})`)) as StoredRow[];
        if (!rows.some((r) => num(r.seq) === ch.last)) {
          // No row at the last sequence: its message was refused by the database (a gap) and
          // a limits truncation recorded it as the last. The newest row below it holds the
          // last timestamp: restored as 0, a clock behind it would give the next messages
          // decreasing timestamps, which the time searches rely on never happening (ts-search.ts).
          const newest = (await db(
            `SELECT seq, ts, data FROM stan_messages WHERE channel_id = ${sqlInt(ch.id)} AND seq >= ${sqlInt(ch.first)} AND seq < ${sqlInt(ch.last)} ORDER BY seq DESC LIMIT 1`,
          )) as StoredRow[];
          rows.push(...newest.filter((r) => num(r.seq) !== ch.first));
          if (newest.length > 0) lastTimestamps.set(ch.id, num(newest[0].ts));
        }
        for (const r of rows) {
          const seq = num(r.seq);
          if (seq === ch.last) lastTimestamps.set(ch.id, num(r.ts));
          try {
            openRecord(cipher, toBuffer(r.data), rowContext(ch.id, seq));
          } catch (err) {
            if (err instanceof PayloadCipherError) throw new EncryptionKeyError(describeOpenFailure(err, ch.name, seq));
            throw err;
          }
        }
      }),
    );
  }
  return lastTimestamps;
}
