/**
 * The dead-letter envelope reader behind requeue: a stored message whose payload is the
 * envelope gives back the original channel, sequence, reply and payload bytes; anything else
 * is a 409 not_dead_letter that says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMsgProto } from '../../src/protocol/fast';
import { parseDeadLetterEnvelope } from '../../src/monitor/admin/dead-letter-envelope';
import { AdminError } from '../../src/monitor/admin/errors';

const stored = (payload: string | Uint8Array): Uint8Array =>
  encodeMsgProto(7, 'dlq.orders', '', typeof payload === 'string' ? Buffer.from(payload) : payload, 1_700_000_000_000_000_000);

const envelope = {
  channel: 'orders',
  seq: 42,
  timestamp: '2026-12-06T03:00:00.000000001Z',
  subject: 'orders',
  reply: 'reply.to',
  client_id: 'worker',
  durable: 'd',
  queue: '',
  deliveries: 5,
  data_base64: Buffer.from([0, 1, 0xff]).toString('base64'),
};

test('an envelope gives the original channel, sequence, reply and payload bytes', () => {
  const e = parseDeadLetterEnvelope(stored(JSON.stringify(envelope)), 'dlq.orders', 7);
  assert.deepEqual({ ...e, data: [...e.data] }, { channel: 'orders', seq: 42, reply: 'reply.to', data: [0, 1, 0xff] });
});

const refused: Array<[string, string | Uint8Array, RegExp]> = [
  ['binary payload', new Uint8Array([0xff, 0xfe]), /not JSON/],
  ['plain text', 'hello', /not JSON/],
  ['a JSON array', '[1,2]', /not a JSON object/],
  ['no channel', JSON.stringify({ ...envelope, channel: undefined }), /"channel"/],
  ['a wildcard channel', JSON.stringify({ ...envelope, channel: 'orders.*' }), /"channel"/],
  ['data not base64', JSON.stringify({ ...envelope, data_base64: 'no spaces allowed' }), /"data_base64"/],
  ['no seq', JSON.stringify({ ...envelope, seq: '42' }), /"seq"/],
];
for (const [what, payload, why] of refused) {
  test(`not an envelope (${what}): 409 not_dead_letter saying why`, () => {
    assert.throws(
      () => parseDeadLetterEnvelope(stored(payload), 'dlq.orders', 7),
      (err: unknown) => err instanceof AdminError && err.status === 409 && err.body.code === 'not_dead_letter' && why.test(err.body.message) && /message 7 of channel "dlq.orders"/.test(err.body.message),
    );
  });
}
