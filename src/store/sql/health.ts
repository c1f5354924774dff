/**
 * The /readyz database probe of the SQL store: a trivial query with a deadline, its result
 * reused for a short while so frequent probes cost nothing.
 */
import { errorText } from '../../errors';
import type { PlainRows } from './plain-reads';

/** /readyz database probe: answer deadline, and how long a result is reused. */
export const HEALTH_TIMEOUT_MS = 2000;
export const HEALTH_CACHE_MS = 1000;

export class DatabaseProbe {
  private last: { at: number; result: Promise<string | undefined> } | undefined;

  constructor(
    /** Plain reads on the store's reader (plain-reads.ts): the probe needs no query builder. */
    private readonly rows: PlainRows,
    private readonly now: () => number = Date.now,
  ) {}

  /** Why the database cannot serve (unreachable, no answer in time), or undefined. */
  check(): Promise<string | undefined> {
    const now = this.now();
    if (this.last === undefined || now - this.last.at >= HEALTH_CACHE_MS) {
      this.last = { at: now, result: this.probe() };
    }
    return this.last.result;
  }

  private async probe(): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`store unreachable: no answer within ${HEALTH_TIMEOUT_MS} ms`), HEALTH_TIMEOUT_MS);
    });
    const query = this.rows('SELECT id FROM stan_server LIMIT 1').then(
        () => undefined,
        (err: unknown) => `store unreachable: ${errorText(err)}`,
      );
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
