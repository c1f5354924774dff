/**
 * Max deliveries and dead letters: which cap and which dead-letter channel apply to a
 * subscription (docs/dead-letters.md).
 *
 * The settings live in the store limits (globals, per-channel entries, and `durables`
 * inside an entry) and inherit like the retention limits: the most specific entry covering
 * the channel wins, a field it leaves out comes from its enclosing entry, then the globals.
 * Inside one entry, a durable's own setting beats the entry's.
 */
import type { DeadLetterSettings, StoreLimits } from '../../config/options';
import { limitsResolver, type LimitsEntry } from '../../store/limits/limits';
import { isLiteralChannelName, isValidChannelName } from '../../subject';

/** Stands for the source channel in a dead-letter pattern (`dlq.{channel}`). */
export const CHANNEL_PLACEHOLDER = '{channel}';

export interface DeadLetterPolicy {
  /** Deliveries (the first one counts) after which a message leaves the subscription. */
  maxDeliveries: number;
  /** The dead-letter channel, '' to drop the message without republishing it. */
  deadLetter: string;
}

/** The dead-letter channel for messages of `channel`, pattern applied. */
export function deadLetterChannel(pattern: string, channel: string): string {
  return pattern.split(CHANNEL_PLACEHOLDER).join(channel);
}

function pick<K extends keyof DeadLetterSettings>(entry: LimitsEntry | undefined, durable: string, key: K, globals: DeadLetterSettings): DeadLetterSettings[K] {
  for (let e = entry; e; e = e.parent ?? undefined) {
    const own = durable !== '' ? e.raw.durables?.[durable]?.[key] : undefined;
    if (own !== undefined) return own;
    if (e.raw[key] !== undefined) return e.raw[key];
  }
  return globals[key];
}

/**
 * The policy of a subscription on `channel` (`durable` '' for non-durables), or undefined
 * when deliveries are not capped (the reference's behaviour).
 */
export function resolveDeadLetterPolicy(limits: StoreLimits, channel: string, durable: string): DeadLetterPolicy | undefined {
  const entry = limitsResolver(limits).entryFor(channel);
  const max = pick(entry, durable, 'maxDeliveries', limits) ?? 0;
  if (max <= 0) return undefined;
  const pattern = pick(entry, durable, 'deadLetter', limits) ?? '';
  return { maxDeliveries: max, deadLetter: pattern === '' ? '' : deadLetterChannel(pattern, channel) };
}

function checkSettings(where: string, s: DeadLetterSettings, owner: string | undefined): void {
  const max = s.maxDeliveries;
  if (max !== undefined && (!Number.isInteger(max) || (max < 0 && owner === undefined))) {
    throw new Error(`invalid max_deliveries (${String(max)})${where}: use a whole number of deliveries, 0 for unlimited`);
  }
  const dl = s.deadLetter;
  if (dl === undefined || dl === '') return;
  // Any channel name can stand for the placeholder: check the pattern with a plain token.
  const sample = deadLetterChannel(dl, 'channel');
  if (!isValidChannelName(sample) || !isLiteralChannelName(sample)) {
    throw new Error(`invalid dead_letter ${JSON.stringify(dl)}${where}: it must be a channel name without wildcards (${CHANNEL_PLACEHOLDER} stands for the channel)`);
  }
  if (owner !== undefined && isLiteralChannelName(owner) && deadLetterChannel(dl, owner) === owner) {
    throw new Error(`dead_letter ${JSON.stringify(dl)}${where} names the channel itself: dead letters would loop; choose another channel`);
  }
}

/** Throws a message naming the setting and what to do when a dead-letter setting is invalid. */
export function validateDeadLetters(l: StoreLimits): void {
  checkSettings('', l, undefined);
  for (const [name, entry] of Object.entries(l.perChannel ?? {})) {
    checkSettings(` for channel ${JSON.stringify(name)}`, entry, name);
    for (const [durable, s] of Object.entries(entry.durables ?? {})) {
      checkSettings(` for durable ${JSON.stringify(durable)} of channel ${JSON.stringify(name)}`, s, name);
    }
  }
}

/** True when some dead-letter setting is present (the start-up table shows them only then). */
export function hasDeadLetterSettings(l: StoreLimits): boolean {
  if (l.maxDeliveries !== undefined || l.deadLetter !== undefined) return true;
  return Object.values(l.perChannel ?? {}).some((e) => e.maxDeliveries !== undefined || e.deadLetter !== undefined || e.durables !== undefined);
}

/** Start-up lines describing the dead-letter settings (after the limits table). */
export function formatDeadLetterTable(l: StoreLimits): string[] {
  if (!hasDeadLetterSettings(l)) return [];
  const show = (s: DeadLetterSettings): string => {
    const parts: string[] = [];
    if (s.maxDeliveries !== undefined) parts.push(`max deliveries: ${s.maxDeliveries <= 0 ? 'unlimited' : s.maxDeliveries}`);
    if (s.deadLetter !== undefined) parts.push(`dead letter: ${s.deadLetter === '' ? 'none' : s.deadLetter}`);
    return parts.join(', ');
  };
  const lines = ['---------- Dead Letters ----------'];
  if (l.maxDeliveries !== undefined || l.deadLetter !== undefined) lines.push(`  Default      : ${show(l)}`);
  for (const [name, e] of Object.entries(l.perChannel ?? {})) {
    const own = show(e);
    if (own !== '') lines.push(`  ${name}: ${own}`);
    for (const [durable, s] of Object.entries(e.durables ?? {})) lines.push(`  ${name} (durable ${durable}): ${show(s)}`);
  }
  lines.push('-'.repeat(34));
  return lines;
}
