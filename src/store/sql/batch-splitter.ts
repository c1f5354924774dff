/**
 * Writes a group-commit batch so that rows the database refuses cannot block the others.
 *
 * The batch is written whole first (the normal case costs nothing more). When the database
 * refuses it (see commit-errors.ts: a constraint or trigger rejects a row), it is split in
 * two and each half written in order, recursively, until the refused rows stand alone: each
 * lone message row refused is reported and left out, everything else is written. A part that
 * cannot be split and may not be dropped (client/subscription events, deletes) stops the
 * batch, as does a transient or schema error: the parts not yet written are handed back, in
 * order, for the caller to queue again.
 */
import type { CommitErrorKind } from './commit-errors';

export interface SplitOps<P> {
  write(part: P): Promise<void>;
  classify(err: unknown): CommitErrorKind;
  /** The part as two smaller ones in commit order, or undefined when it cannot be split. */
  split(part: P): [P, P] | undefined;
  /** True when the part is one message row alone, which may be refused (left out). */
  refusable(part: P): boolean;
}

export interface SplitResult<P> {
  /** Parts written, in commit order. */
  written: P[];
  /** Lone message rows the database refuses, with its error. */
  refused: Array<{ part: P; error: unknown }>;
  /**
   * Set when writing stopped: `unwritten` (in order) must be queued again. `unrefusable`:
   * the database refuses a part that may not be dropped.
   */
  stopped?: { error: unknown; kind: 'transient' | 'schema' | 'unrefusable'; unwritten: P[] };
}

export async function writeSplitting<P>(batch: P, ops: SplitOps<P>): Promise<SplitResult<P>> {
  const out: SplitResult<P> = { written: [], refused: [] };
  const todo: P[] = [batch];
  for (let part = todo.shift(); part !== undefined; part = todo.shift()) {
    try {
      await ops.write(part);
      out.written.push(part);
      continue;
    } catch (error) {
      const kind = ops.classify(error);
      if (kind === 'refused') {
        const halves = ops.split(part);
        if (halves !== undefined) {
          todo.unshift(...halves);
          continue;
        }
        if (ops.refusable(part)) {
          out.refused.push({ part, error });
          continue;
        }
      }
      out.stopped = { error, kind: kind === 'refused' ? 'unrefusable' : kind, unwritten: [part, ...todo] };
      return out;
    }
  }
  return out;
}
