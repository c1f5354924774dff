/**
 * Reads the dead-letter envelope a message on a dead-letter channel carries (its payload is
 * JSON `{channel, seq, timestamp, subject, reply, client_id, durable, queue, deliveries,
 * data_base64}`, written when a message exceeded max_deliveries) for the requeue call. Only
 * the fields a requeue needs are checked; anything else in the envelope is informational.
 */
import { MsgProtoCodec } from '../../protocol/codec';
import { isValidChannelName } from '../../subject';
import { AdminError } from './errors';

export interface DeadLetterEnvelope {
  /** The channel the message was dead-lettered from: where a requeue publishes it. */
  channel: string;
  /** Its sequence there (informational: the requeued copy gets a new one). */
  seq: number;
  reply: string;
  data: Uint8Array;
}

function notEnvelope(dlq: string, seq: number, why: string): AdminError {
  return new AdminError(409, {
    code: 'not_dead_letter',
    message: `message ${seq} of channel ${JSON.stringify(dlq)} is not a dead-letter envelope (${why}): only messages the server dead-lettered can be requeued`,
  });
}

/** Decodes a stored message (MsgProto bytes) of channel `dlq` as an envelope, or throws 409 `not_dead_letter`. */
export function parseDeadLetterEnvelope(stored: Uint8Array, dlq: string, seq: number): DeadLetterEnvelope {
  const payload = MsgProtoCodec.decode(stored).data ?? new Uint8Array();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw notEnvelope(dlq, seq, 'its payload is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw notEnvelope(dlq, seq, 'its payload is not a JSON object');
  const o = v as Record<string, unknown>;
  const channel = o['channel'];
  if (typeof channel !== 'string' || !isValidChannelName(channel)) throw notEnvelope(dlq, seq, 'no valid "channel" field');
  const data = o['data_base64'];
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw notEnvelope(dlq, seq, 'no valid "data_base64" field');
  const origSeq = o['seq'];
  if (typeof origSeq !== 'number' || !Number.isSafeInteger(origSeq)) throw notEnvelope(dlq, seq, 'no valid "seq" field');
  const reply = o['reply'];
  return { channel, seq: origSeq, reply: typeof reply === 'string' ? reply : '', data: Buffer.from(data, 'base64') };
}
