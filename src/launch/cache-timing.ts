/**
 * When the launcher writes the code cache of a run (./launcher.ts), from what the server
 * tells it (./run-hints.ts).
 *
 * Why: the cache was written 3 s after the start or at exit, whichever came first. A run
 * stopped at once (a test, `npm run startup-time`) wrote it at exit, after the shutdown had
 * written its last snapshot through Knex; the first start of a FILE or SQL install wrote it
 * with the schema's creation (Knex, Umzug) compiled in. Either way every later start-up of that
 * install deserialized code it never ran (FILE: 1.72 MB written at exit against 1.38 MB 3 s
 * after a start), and no later run could make it smaller. Now:
 * - a run that did one-off work (a migration) writes no cache;
 * - the cache is written when a graceful stop begins, before any shutdown code runs, or 3 s
 *   after the server began to serve (its first connects answered meanwhile), or when the SQL
 *   store starts making Knex in the background after its first commit (run-hints.ts
 *   beyondStartup; a run with a client that connects and publishes 200 ms later wrote 1.49 MB
 *   on PostgreSQL and 1.81 MB on MariaDB with Knex in them, 1.19 and 1.50 MB without),
 *   whichever first;
 * - a run that exits otherwise (a failed start, -v, a standby that never served) writes it at
 *   exit, marked `partial`: a later run that serves may write it again.
 */
import type { CacheKind, CacheSave, CachedModule } from './code-cache';
import type { RunHints } from './run-hints';

/** How long after the server began to serve the cache is written (a run not stopped before). */
export const SAVE_CACHE_AFTER_MS = 3000;

export class CacheSaveTiming implements RunHints {
  private served = false;
  private skip: string | undefined;

  constructor(
    private readonly cache: Pick<CachedModule, 'save'>,
    /** Runs `fn` after `ms` without keeping the process alive (injectable). */
    private readonly schedule: (fn: () => void, ms: number) => void,
  ) {}

  serving(): void {
    if (this.served) return;
    this.served = true;
    this.schedule(() => this.save(), SAVE_CACHE_AFTER_MS);
  }

  stopping(): void {
    this.save();
  }

  beyondStartup(): void {
    // Before serving it is start-up code after all (a run that needs it to serve).
    if (this.served) this.save();
  }

  oneOff(why: string): void {
    this.skip ??= why;
  }

  /** The process exits (whatever the reason). */
  exit(): void {
    this.save();
  }

  /** Writes the cache if this run should (CachedModule.save runs at most once). */
  save(): CacheSave | 'skipped' {
    if (this.skip !== undefined) return 'skipped';
    const kind: CacheKind = this.served ? 'complete' : 'partial';
    return this.cache.save(kind);
  }
}
