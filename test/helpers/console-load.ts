/**
 * A known load for the console test and screenshots: channels with known message counts,
 * JSON and binary payloads, a stalled manual-ack subscription, a durable and a queue group.
 */
import type { ServerHandle } from '../../src/index';
import { connect, publish, subscribe, type Stan } from './stan';

export const CONSOLE_LOAD = {
  /** Channel → messages published (all kept: default limits). */
  counts: { 'orders.eu': 12, payments: 3, 'sensor.bin': 2 } as Record<string, number>,
  /** Payload of payments #2, checked in the message browser. */
  payment2: { id: 'pay-2', amount: 42.5, currency: 'EUR' },
};

export async function applyConsoleLoad(s: ServerHandle): Promise<Stan[]> {
  const pub = await connect(s.natsURL, s.clusterID, 'orders-api');
  const worker = await connect(s.natsURL, s.clusterID, 'billing-worker');
  const audit = await connect(s.natsURL, s.clusterID, 'audit-log');
  for (let i = 1; i <= CONSOLE_LOAD.counts['orders.eu']!; i++) await publish(pub, 'orders.eu', JSON.stringify({ order: i, sku: `A-${100 + i}` }));
  for (let i = 1; i <= CONSOLE_LOAD.counts['payments']!; i++) {
    await publish(pub, 'payments', JSON.stringify(i === 2 ? CONSOLE_LOAD.payment2 : { id: `pay-${i}`, amount: i * 10, currency: 'EUR' }));
  }
  await publish(pub, 'sensor.bin', Buffer.from([0x01, 0x02, 0xfe, 0xff, 0x00, 0x41]));
  await publish(pub, 'sensor.bin', Buffer.from('plain text reading 21.5C'));
  // Manual acks never sent, 2 in flight: a stalled subscription with 2 pending.
  await subscribe(worker, 'orders.eu', worker.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(2));
  await subscribe(audit, 'orders.eu', audit.subscriptionOptions().setDurableName('audit').setDeliverAllAvailable());
  await subscribe(worker, 'payments', worker.subscriptionOptions().setDeliverAllAvailable(), 'billing');
  return [pub, worker, audit];
}
