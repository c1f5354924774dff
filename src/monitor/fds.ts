/**
 * `open_fds` / `max_fds` of /streaming/serverz. The reference fills them on Linux only: the
 * entries of /proc/self/fd and the soft "Max open files" limit of /proc/self/limits. Elsewhere
 * (no /proc) both stay 0 and serverz leaves them out (omitempty), as the reference does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface FdUsage {
  open: number;
  max: number;
}

/**
 * The soft limit from the text of a /proc/<pid>/limits file ("Max open files  <soft>  <hard>
 * files"); 0 when the line is missing or "unlimited" (nothing meaningful to report).
 */
export function parseMaxOpenFiles(limits: string): number {
  const m = /^Max open files\s+(\S+)/m.exec(limits);
  if (!m || !/^\d+$/.test(m[1])) return 0;
  return Number(m[1]);
}

/** Reads the counts under `procSelf` (normally /proc/self); 0 for what cannot be read. */
export function fdUsage(procSelf = '/proc/self'): FdUsage {
  let open = 0;
  let max = 0;
  try {
    // The handle readdirSync holds while listing is counted too: one more or less does not
    // matter for a gauge, and correcting for it would be wrong on platforms that list lazily.
    open = fs.readdirSync(path.join(procSelf, 'fd')).length;
  } catch {
    // Not Linux, or /proc not mounted: leave it out.
  }
  try {
    max = parseMaxOpenFiles(fs.readFileSync(path.join(procSelf, 'limits'), 'utf8'));
  } catch {
    // As above.
  }
  return { open, max };
}
