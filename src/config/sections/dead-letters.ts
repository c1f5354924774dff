/**
 * `max_deliveries`, `dead_letter` and `durables { }` keys of the store limits
 * (docs/dead-letters.md): at the top level they are the global defaults, inside a
 * per-channel entry they override them for that channel, inside `durables { name { } }`
 * for one durable of that channel.
 */
import type { DeadLetterSettings } from '../options';
import { applyKeys, handled, mark, warnUnknown, type ApplyContext, type KeySpec } from './keyspec';
import type { ConfReader } from './reader';

/**
 * The keys setting `target`. In an entry (`perChannel`) a 0 max_deliveries is stored as -1
 * (explicitly unlimited, so that it does not inherit), like the other per-channel limits.
 */
export function deadLetterKeys(target: DeadLetterSettings, perChannel: boolean): KeySpec[] {
  return [
    handled(['max_deliveries', 'maxdeliveries'], (ctx, sec, k) => {
      const v = sec.int(k);
      target.maxDeliveries = perChannel && v === 0 ? -1 : v;
      if (!perChannel) mark(ctx, 'max_deliveries');
    }),
    handled(['dead_letter', 'deadletter', 'dead_letter_channel'], (ctx, sec, k) => {
      target.deadLetter = sec.str(k);
      if (!perChannel) mark(ctx, 'dead_letter');
    }),
  ];
}

/** `durables { "<name>": { max_deliveries: N, dead_letter: "…" } }` inside a channel entry. */
export function durablesKey(target: { durables?: Record<string, DeadLetterSettings> }): KeySpec {
  return handled(['durables'], (ctx: ApplyContext, sec: ConfReader, k: string) => {
    const dsec = sec.sub(k);
    const out: Record<string, DeadLetterSettings> = {};
    for (const name of dsec.keys()) {
      const s: DeadLetterSettings = {};
      const one = dsec.sub(name);
      applyKeys(ctx, one, deadLetterKeys(s, true), (key) => warnUnknown(ctx, one, key, 'durable dead-letter '));
      out[name] = s;
    }
    target.durables = out;
  });
}
