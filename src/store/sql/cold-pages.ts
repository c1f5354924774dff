/**
 * Cold message reads in pages, ahead of the reader.
 *
 * A subscriber catching up on stored messages asks for them one sequence at a time. Reading
 * each with its own query costs one database round trip per message (PostgreSQL: ~0.3 ms,
 * so ~3k msgs/s at best). Here a miss reads a whole page of consecutive rows in one query,
 * and a reader that has walked half-way through a page starts the read of the next page, so
 * the following lookups are answered from memory without waiting.
 *
 * Memory stays bounded: at most MAX_PAGES pages per channel, each at most PAGE_BYTES of
 * payload (rows per page derived from the channel's average message size), oldest page
 * dropped first. Pages only ever hold committed rows (they come from the database), and a
 * sequence inside a page's range but without a row is a gap (refused or removed), answered
 * as `undefined` like the single-row read did. `from` may be beyond the committed rows: the
 * read then finds nothing and caches nothing.
 *
 * A page keeps its rows copied into a MsgRing (a few byte chunks), not as the row objects
 * the driver returned: those die young, whereas pages live while the subscriber walks them
 * and were promoted to V8's old space, where ~700 B per replayed message piled up as garbage
 * until a full GC (FILE catch-up peaking ~200 MB with a live heap of ~17 MB, measured).
 */
import type { StoredMsg } from '../contract';
import { MsgRing } from '../limits/msg-ring';
import { toError } from '../../errors';

export const PAGE_MAX_ROWS = 2048;
const PAGE_MIN_ROWS = 16;
const PAGE_BYTES = 2 * 1024 * 1024;
const MAX_PAGES = 4;
/** Pages read ahead of the one being walked (MAX_PAGES keeps them, the current one and one behind). */
const READ_AHEAD = 2;

/** Reads the committed rows with from <= seq <= to, in sequence order. */
export type PageQuery = (from: number, to: number) => Promise<StoredMsg[]>;

interface Page {
  from: number;
  /** Last sequence the page answers for: its last row (later ones may not be committed yet). */
  to: number;
  /** Slot k holds sequence from + k (a gap where no row exists). */
  ring: MsgRing;
  /** The read of the page after it was started (half-way through): not again per message. */
  ahead: boolean;
}

function pageOf(from: number, rows: StoredMsg[]): Page {
  const ring = new MsgRing();
  let next = from;
  for (const r of rows) {
    for (; next < r.seq; next++) ring.appendGap(r.timestamp);
    const chunk = ring.append(r.bytes.length, r.timestamp);
    chunk.set(r.bytes, ring.lastOffset);
    next = r.seq + 1;
  }
  return { from, to: rows[rows.length - 1].seq, ring, ahead: false };
}

export class ColdPages {
  private pages: Page[] = [];
  /** Reads under way, by first sequence: a lookup inside one waits for it instead of querying. */
  private readonly loading = new Map<number, { to: number; done: Promise<void> }>();
  /** Bumped by clear(): a read that started before it must not fill the cache. */
  private epoch = 0;

  constructor(
    private readonly query: PageQuery,
    /** Average stored message size now, to size a page in bytes. */
    private readonly avgSize: () => number,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Rows per page: PAGE_BYTES of average messages, within [PAGE_MIN_ROWS, PAGE_MAX_ROWS]. */
  pageRows(): number {
    const avg = Math.max(1, this.avgSize());
    return Math.max(PAGE_MIN_ROWS, Math.min(PAGE_MAX_ROWS, Math.floor(PAGE_BYTES / avg)));
  }

  /**
   * The message from memory: a StoredMsg, `undefined` for a gap inside a loaded page, or
   * `null` when no page covers `seq`. `upTo` is the last sequence worth reading ahead to.
   */
  get(seq: number, upTo: number): StoredMsg | undefined | null {
    const pages = this.pages;
    for (let i = 0; i < pages.length; i++) {
      const p = pages[i];
      if (seq < p.from || seq > p.to) continue;
      // Half-way through: fetch the next READ_AHEAD pages now, so the reader never waits for
      // them (one page ahead was not enough on a loaded machine: the read of a page took
      // longer than the subscriber needed for half a page, and the pump idled).
      if (!p.ahead && seq - p.from >= (p.to - p.from) >> 1 && p.to < upTo) {
        p.ahead = true;
        const rows = this.pageRows();
        for (let k = 0, from = p.to + 1; k < READ_AHEAD && from <= upTo; k++, from += rows) this.prefetch(from, upTo);
      }
      const k = seq - p.from;
      const bytes = p.ring.bytesAt(k);
      return bytes === undefined ? undefined : { seq, timestamp: p.ring.tsAt(k), bytes };
    }
    return null;
  }

  /** Reads the page starting at `seq` (or waits for the read that covers it) and answers. */
  async load(seq: number, upTo: number): Promise<StoredMsg | undefined> {
    for (const [from, l] of this.loading) {
      if (seq >= from && seq <= l.to) {
        await l.done;
        const hit = this.get(seq, upTo);
        if (hit !== null) return hit;
      }
    }
    // Answered from the rows read, not from the cache: a clear() meanwhile keeps them out
    // of the cache but they are still what the database holds.
    const rows = await this.read(seq, upTo);
    // Not in the database (beyond what is committed, or never stored): nothing to deliver.
    return rows.length > 0 && rows[0].seq === seq ? rows[0] : undefined;
  }

  /** Forgets every page (rows may have changed under them: a failed commit, a reset). */
  clear(): void {
    this.pages = [];
    this.loading.clear();
    this.epoch++;
  }

  /** Drops pages wholly below `first` (truncated by limits). */
  dropBelow(first: number): void {
    this.pages = this.pages.filter((p) => p.to >= first);
  }

  private prefetch(from: number, upTo: number): void {
    if (this.loading.has(from) || this.pages.some((p) => from >= p.from && from <= p.to)) return;
    this.read(from, upTo).catch((err: unknown) => this.onError(toError(err)));
  }

  private read(from: number, upTo: number): Promise<StoredMsg[]> {
    const to = Math.max(from, Math.min(upTo, from + this.pageRows() - 1));
    const epoch = this.epoch;
    const done = this.query(from, to).then(
      (rows) => {
        this.loading.delete(from);
        if (epoch !== this.epoch || rows.length === 0) return rows;
        // The page answers up to its last row only: rows after it may not be committed yet
        // (a later read finds them). Commits are in sequence order, so a sequence missing
        // before the last row is a gap for good (refused, or removed by limits).
        this.pages.push(pageOf(from, rows));
        if (this.pages.length > MAX_PAGES) this.pages.shift();
        return rows;
      },
      (err: unknown) => {
        this.loading.delete(from);
        throw err;
      },
    );
    this.loading.set(from, { to, done: done.then(() => undefined, () => undefined) });
    return done;
  }
}
