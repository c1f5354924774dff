/**
 * Max deliveries and dead letters with the real Node client (docs/dead-letters.md): a
 * subscriber that never acks gets the message max_deliveries times, then the message
 * appears on the dead-letter channel with its envelope, then the subscriber receives the
 * next message; /metrics counts it. With a persistent store the deliveries counted before a
 * restart are not given again after it. Named stan-* so that test/run-all.sh runs it on
 * every store (FILE, PostgreSQL, MariaDB) and with an external nats-server.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedServerConfig, ServerHandle } from '../../src/index';
import { defaultStoreLimits } from '../../src/config/options';
import { startTestServer, storeOptionsFor, testStore } from '../helpers/server';
import { freePort } from '../helpers/proc';
import { httpGet } from '../helpers/http';
import { close, Collector, connect, opts, publish, redeliveryCount, subscribe, until, type Message, type Stan } from '../helpers/stan';

const open: Array<() => Promise<void>> = [];
after(async () => {
  for (const f of open.reverse()) await f().catch(() => undefined);
});

function limits(): EmbeddedServerConfig['streaming'] {
  const l = defaultStoreLimits();
  l.perChannel['dl.>'] = { maxDeliveries: 3, deadLetter: 'dlq.{channel}' };
  return { storeLimits: l };
}

function envelope(m: Message): Record<string, unknown> {
  return JSON.parse(String(m.getData())) as Record<string, unknown>;
}

function deliveriesOf(col: Collector, seq: number): number {
  return col.msgs.filter((m) => m.getSequence() === seq).length;
}

describe(`dead letters (${testStore()} store)`, () => {
  test('never acked: delivered 3 times, then on the dead-letter channel with its envelope, then the next message flows; metrics count it', async () => {
    const httpPort = await freePort();
    const clusterID = `dl-${process.pid}`;
    const s = await startTestServer({ streaming: { ...limits(), clusterID }, nats: { httpPort } });
    open.push(() => s.close());
    const sc = await connect(s.natsURL, clusterID, 'dl-client');
    open.push(() => close(sc));
    const dlq = new Collector(await subscribe(sc, 'dlq.dl.work', opts(sc, (o) => o.setDeliverAllAvailable())));
    const sub = await subscribe(sc, 'dl.work', opts(sc, (o) => o.setManualAckMode(true).setAckWait(1000).setMaxInFlight(1)));
    const col = new Collector(sub, false);
    await publish(sc, 'dl.work', 'poison');
    await publish(sc, 'dl.work', 'next');

    await dlq.waitFor(1, 15_000);
    const env = envelope(dlq.msgs[0]);
    assert.equal(typeof env['timestamp'], 'number');
    assert.deepEqual(
      { ...env, timestamp: 0 },
      { channel: 'dl.work', seq: 1, timestamp: 0, subject: 'dl.work', reply: '', client_id: 'dl-client', durable: '', queue: '', deliveries: 3, data_base64: Buffer.from('poison').toString('base64') },
    );
    // The subscriber then gets the next message (max in flight 1 freed by the removal).
    await until(() => col.msgs.some((m) => m.getSequence() === 2), 10_000, 'the next message');
    assert.deepEqual(
      col.msgs.filter((m) => m.getSequence() === 1).map((m) => m.isRedelivered()),
      [false, true, true],
    );
    const metrics = await httpGet(httpPort, '/metrics');
    assert.match(metrics.body, /^stan_dead_lettered_messages_total\{channel="dl\.work"\} 1$/m);
  });
});

{
  const store = testStore();
  describe(`dead letters across a restart (${store} store)`, { skip: store === 'memory' && 'MEMORY keeps nothing across a restart' }, () => {
    test('deliveries counted before a restart are not given again after it', async () => {
      const port = await freePort();
      const httpPort = await freePort();
      const clusterID = `dlr-${store}-${process.pid}`;
      const cfg: EmbeddedServerConfig = { streaming: { ...(await storeOptionsFor(store)), ...limits(), clusterID }, nats: { port, httpPort } };
      // The store is given explicitly, so each restart opens the same one.
      let s: ServerHandle = await startTestServer(cfg);
      open.push(() => s.close());
      const durable = (sc: Stan) => opts(sc, (o) => o.setDurableName('slow').setManualAckMode(true).setAckWait(3000).setMaxInFlight(1));
      const sc = await connect(s.natsURL, clusterID, 'dlr-client');
      const col = new Collector(await subscribe(sc, 'dl.keep', durable(sc)), false);
      await publish(sc, 'dl.keep', 'poison');
      // Two deliveries (the first and one redelivery) before the restart; the durable then
      // goes offline with the message pending.
      await until(() => deliveriesOf(col, 1) >= 2, 15_000, 'two deliveries');
      await close(sc);
      assert.equal(deliveriesOf(col, 1), 2);
      await s.close();

      s = await startTestServer(cfg);
      const sc2 = await connect(s.natsURL, clusterID, 'dlr-client');
      open.push(() => close(sc2));
      const col2 = new Collector(await subscribe(sc2, 'dl.keep', durable(sc2)), false);
      const dlq = new Collector(await subscribe(sc2, 'dlq.dl.keep', opts(sc2, (o) => o.setDeliverAllAvailable())));
      await publish(sc2, 'dl.keep', 'next');
      await dlq.waitFor(1, 20_000);
      const env = envelope(dlq.msgs[0]);
      assert.equal(env['deliveries'], 3);
      assert.equal(env['durable'], 'slow');
      await until(() => col2.msgs.some((m) => m.getSequence() === 2), 10_000, 'the next message');
      // The resumed durable got the message once more (its third delivery: redelivery
      // count 2), not three more times: the counts came back from the log.
      assert.deepEqual(
        col2.msgs.filter((m) => m.getSequence() === 1).map((m) => redeliveryCount(m)),
        [2],
      );

      // The dead-lettering is in the log: after one more restart the metric still counts it.
      await close(sc2);
      await s.close();
      s = await startTestServer(cfg);
      const metrics = await httpGet(httpPort, '/metrics');
      assert.match(metrics.body, /^stan_dead_lettered_messages_total\{channel="dl\.keep"\} 1$/m);
    });
  });
}
