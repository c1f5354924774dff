/** Max deliveries and dead letters (docs/dead-letters.md). */
import type { CoreContext } from '../context';
import type { DeliveryCap } from '../delivery';
import { DeadLetters, type DeadLetterSink } from './dead-letters';
import { hasDeadLetterSettings } from './policy';

export { buildEnvelope, type DeadLetterEnvelope } from './dead-letters';

/** The delivery cap for the configured limits; undefined (the reference's behaviour) when none is set. */
export function deadLetterCap(ctx: CoreContext, sink: DeadLetterSink): DeliveryCap | undefined {
  const limits = ctx.opts.storeLimits;
  return hasDeadLetterSettings(limits) ? new DeadLetters(ctx, limits, sink, ctx.stats.deadLettered) : undefined;
}
