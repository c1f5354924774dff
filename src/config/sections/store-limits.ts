/**
 * `store_limits`/`limits`/`storelimits { }` (spec stan §5.1, §5.2): global limits and
 * per-channel entries. In the file, a per-channel value of 0 means unlimited, stored as -1.
 */
import type { ChannelLimits, PartialChannelLimits } from '../options';
import { asNumber as num } from '../values';
import { invalidChannelNameMessage, isValidChannelName } from '../../subject';
import { applyKeys, handled, key, mark, warnUnknown, type ApplyContext, type KeySpec } from './keyspec';
import type { ConfReader, ReadKind } from './reader';
import { deadLetterKeys, durablesKey } from './dead-letters';

interface ChannelLimitKey {
  readonly names: readonly string[];
  readonly type: ReadKind;
  readonly field: keyof ChannelLimits;
  /** Canonical name recorded when the key is a global limit. */
  readonly canonical: string;
}

const CHANNEL_LIMIT_KEYS: readonly ChannelLimitKey[] = [
  { names: ['msu', 'max_subs', 'max_subscriptions', 'maxsubscriptions'], type: 'int', field: 'maxSubscriptions', canonical: 'max_subs' },
  { names: ['mm', 'max_msgs', 'maxmsgs', 'max_count', 'maxcount'], type: 'int', field: 'maxMsgs', canonical: 'max_msgs' },
  { names: ['mb', 'max_bytes', 'maxbytes'], type: 'size', field: 'maxBytes', canonical: 'max_bytes' },
  { names: ['ma', 'max_age', 'maxage'], type: 'duration', field: 'maxAge', canonical: 'max_age' },
  { names: ['mi', 'max_inactivity', 'maxinactivity'], type: 'duration', field: 'maxInactivity', canonical: 'max_inactivity' },
];

/** The channel limits as keys of one block: globals set `store`, entries set their own map. */
function channelLimitKeys(perChannel: boolean, set: (field: keyof ChannelLimits, v: number) => void): KeySpec[] {
  return CHANNEL_LIMIT_KEYS.map((c) =>
    handled([...c.names], (ctx, sec, k) => {
      const v = num(sec.read(k, c.type));
      set(c.field, perChannel && v === 0 ? -1 : v);
      if (!perChannel) mark(ctx, c.canonical);
    }),
  );
}

function applyPerChannel(ctx: ApplyContext, sec: ConfReader): void {
  const pc = ctx.opts.streaming.storeLimits.perChannel;
  for (const channel of sec.keys()) {
    const csec = sec.sub(channel);
    if (!isValidChannelName(channel, true)) throw sec.error(channel, invalidChannelNameMessage(channel));
    const cl: PartialChannelLimits = {};
    const keys = [...channelLimitKeys(true, (field, v) => { cl[field] = v; }), ...deadLetterKeys(cl, true), durablesKey(cl)];
    applyKeys(ctx, csec, keys, (k) => warnUnknown(ctx, csec, k, 'channel limits '));
    pc[channel] = cl;
    mark(ctx, 'per_channel');
  }
}

export function applyStoreLimits(ctx: ApplyContext, sec: ConfReader): void {
  const sl = ctx.opts.streaming.storeLimits;
  const table: KeySpec[] = [
    key(['mc', 'max_channels', 'maxchannels'], 'int', 'max_channels', (o, v) => { o.streaming.storeLimits.maxChannels = num(v); }),
    handled(['channels', 'channels_limits', 'channelslimits', 'per_channel', 'per_channel_limits'], (c, s, k) => applyPerChannel(c, s.sub(k))),
    ...channelLimitKeys(false, (field, v) => { sl[field] = v; }),
    ...deadLetterKeys(sl, false),
  ];
  applyKeys(ctx, sec, table, (k) => warnUnknown(ctx, sec, k, 'store limits '));
}
