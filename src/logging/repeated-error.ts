/**
 * Keeps a failing dependency from flooding the log. While the store retries a dead database
 * every 200 ms, each failure would otherwise be one error line (five a second for as long as
 * the outage lasts). The first error of an incident is logged in full; then at most one
 * summary line per interval with the count and the latest message; and one line when the
 * dependency works again, saying how long it failed.
 */
import type { Logger } from './logger';

export class RepeatedErrorLog {
  private incident: { since: number; total: number; sinceLastLine: number; lastLineAt: number; latest: string } | undefined;

  constructor(
    private readonly log: Logger,
    /** Start of the error lines (`Store error` → "Store error: …"). */
    private readonly prefix: string,
    /** Subject of the recovery line (`Store` → "Store working again after …"). */
    private readonly what: string,
    private readonly intervalMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while errors are being reported and no success has been seen since. */
  get failing(): boolean {
    return this.incident !== undefined;
  }

  error(message: string): void {
    const t = this.now();
    const inc = this.incident;
    if (inc === undefined) {
      this.incident = { since: t, total: 1, sinceLastLine: 0, lastLineAt: t, latest: message };
      this.log.error(`${this.prefix}: ${message}`);
      return;
    }
    inc.total++;
    inc.sinceLastLine++;
    inc.latest = message;
    if (t - inc.lastLineAt >= this.intervalMs) this.summary(t);
  }

  /** The dependency works again (e.g. a commit succeeded): closes the incident. */
  ok(): void {
    const inc = this.incident;
    if (inc === undefined) return;
    this.incident = undefined;
    const secs = ((this.now() - inc.since) / 1000).toFixed(1);
    this.log.notice(`${this.what} working again after ${inc.total} error(s) over ${secs} s`);
  }

  private summary(t: number): void {
    const inc = this.incident;
    if (inc === undefined) return;
    const secs = Math.round((t - inc.lastLineAt) / 1000);
    this.log.error(`${this.prefix} (still failing, ${inc.sinceLastLine} more error(s) in the last ${secs} s): ${inc.latest}`);
    inc.sinceLastLine = 0;
    inc.lastLineAt = t;
  }
}
