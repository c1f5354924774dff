/**
 * The mutating admin operations, carried out by the STAN core's {@link AdminActions} (which
 * records each one as events in the store). This module only translates: API inputs to core
 * calls, the core's refusals to HTTP errors.
 */
import { AdminActionRefusal, type AdminRefusalCode } from '../../stan/admin-actions';
import type { StanCore } from '../../stan/core';
import type { StreamingMonitorSource } from '../streaming';
import { parseDeadLetterEnvelope } from './dead-letter-envelope';
import { AdminError } from './errors';
import type {
  AdminWriteOperations,
  DeleteChannelInput,
  DurableResetInput,
  EvictClientInput,
  MutationOutput,
  PurgeInput,
  RequeueInput,
} from './operations';

const STATUS: Record<AdminRefusalCode, number> = {
  client_not_found: 404,
  channel_not_found: 404,
  durable_not_found: 404,
  message_not_found: 404,
  channel_has_subscriptions: 409,
  not_stored: 503,
  not_supported: 501,
};

const NS_PER_MS = 1_000_000;

/** Runs `f`, turning a refusal of the core into the API's JSON error. */
async function refusalsAsErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof AdminActionRefusal) throw new AdminError(STATUS[err.code], { code: err.code, message: err.message });
    throw err;
  }
}

export class CoreWriteOperations implements AdminWriteOperations {
  constructor(private readonly source: () => StreamingMonitorSource) {}

  /** The serving core; mutating calls reach here only on the active server (handler.ts). */
  private core(): StanCore {
    const core = this.source().core;
    if (core === undefined) throw new AdminError(503, { code: 'not_active', message: 'the server is not serving yet: try again once it is' });
    return core;
  }

  evictClient(input: EvictClientInput): Promise<MutationOutput> {
    return refusalsAsErrors(async () => {
      const r = await this.core().admin.evictClient(input.clientID);
      return { ok: true, client_id: input.clientID, subscriptions_closed: r.subscriptions };
    });
  }

  purgeChannel(input: PurgeInput): Promise<MutationOutput> {
    return refusalsAsErrors(async () => {
      const before = input.kind === 'all' ? undefined : input.kind === 'before_seq' ? { seq: input.beforeSeq } : { timeNs: input.beforeTime.getTime() * NS_PER_MS };
      const r = await this.core().admin.purgeChannel(input.channel, before);
      return { ok: true, channel: input.channel, ...r };
    });
  }

  deleteChannel(input: DeleteChannelInput): Promise<MutationOutput> {
    return refusalsAsErrors(async () => {
      await this.core().admin.deleteChannel(input.channel);
      return { ok: true, channel: input.channel };
    });
  }

  resetDurable(input: DurableResetInput): Promise<MutationOutput> {
    return refusalsAsErrors(async () => {
      const at = input.seq !== undefined ? { seq: input.seq } : { timeNs: input.time.getTime() * NS_PER_MS };
      const r = await this.core().admin.resetDurable({ channel: input.channel, clientID: input.clientID, durable: input.durable, queue: input.queue, at });
      return { ok: true, channel: input.channel, durable: input.durable, ...(input.queue !== undefined ? { queue: input.queue } : {}), ...r };
    });
  }

  requeueMessage(input: RequeueInput): Promise<MutationOutput> {
    return refusalsAsErrors(async () => {
      const core = this.core();
      const ch = core.channels.get(input.channel);
      if (ch === undefined) throw new AdminActionRefusal('channel_not_found', `channel ${JSON.stringify(input.channel)} not found`);
      const msg = await ch.store.msgs.lookup(input.seq);
      if (msg === undefined) throw new AdminActionRefusal('message_not_found', `message ${input.seq} is not in channel ${JSON.stringify(input.channel)} (never was, or removed by limits or a purge)`);
      const env = parseDeadLetterEnvelope(msg.bytes, input.channel, input.seq);
      const r = await core.admin.republish(env.channel, env.reply, env.data);
      return { ok: true, from: { channel: input.channel, seq: input.seq }, channel: env.channel, original_seq: env.seq, seq: r.seq };
    });
  }
}
