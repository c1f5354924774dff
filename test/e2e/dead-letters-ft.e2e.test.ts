/**
 * Dead letters across an FT takeover (docs/dead-letters.md), two real server processes on a
 * real nats-server, each FT store (FILE, PostgreSQL, MariaDB), the global defaults given as
 * flags (`--max_deliveries 3 --dead_letter dlq.{channel}`): the active delivers a
 * never-acked message twice and is killed (-9); the standby takes over with the counts from
 * the event log, delivers it once more (the third delivery, not three more) and
 * dead-letters it; the subscriber then gets the next message.
 */
import assert from 'node:assert/strict';
import { close, Collector, opts, publish, redeliveryCount, subscribe, until } from '../helpers/stan';
import { connectClient, waitActive, withFtBackends } from '../helpers/ft';
import type { Knex } from 'knex';
import { EventKind } from '../../src/store/events/events';

async function waitForRedeliveryEvent(knex: Knex): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await knex('stan_events').where('kind', EventKind.MsgRedelivered).count({ n: '*' });
    if (Number(rows[0]?.['n'] ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no MsgRedelivered event in stan_events');
}

withFtBackends('dead letters: FT takeover mid-way', 'deliveries counted by the old active are kept by the new one', async ({ backend, natsURL, store, spawn }) => {
  const cid = `ft-dl-${backend}`;
  const group = `dl-${backend}`;
  const extra = ['--max_deliveries', '3', '--dead_letter', 'dlq.{channel}'];
  const a = await spawn({ clusterID: cid, group, extra });
  await waitActive(a);
  await a.waitForLine(/Dead Letters/, { timeoutMs: 5000 });
  const b = await spawn({ clusterID: cid, group, extra });

  const sc = await connectClient(natsURL, cid, 'ft-dl-client', { ackTimeout: 10_000 });
  try {
    const col = new Collector(await subscribe(sc, 'work', opts(sc, (o) => o.setDurableName('slow').setManualAckMode(true).setAckWait(3000).setMaxInFlight(1))), false);
    const dlq = new Collector(await subscribe(sc, 'dlq.work', opts(sc, (o) => o.setDeliverAllAvailable())));
    await publish(sc, 'work', 'poison');
    await until(() => col.msgs.length >= 2, 15_000, 'two deliveries by the first active');
    // The redelivery's count is written by the background commit (within ~50 ms):
    // take over once it is in the log, which is what the new active recovers from.
    await waitForRedeliveryEvent(store.knex);
    a.child.kill('SIGKILL');
    await waitActive(b, 15_000);
    await publish(sc, 'work', 'next');
    await dlq.waitFor(1, 20_000);
    const env = JSON.parse(String(dlq.msgs[0].getData())) as Record<string, unknown>;
    assert.equal(env['deliveries'], 3);
    assert.equal(env['channel'], 'work');
    await until(() => col.msgs.some((m) => m.getSequence() === 2), 10_000, 'the next message');
    assert.deepEqual(
      col.msgs.filter((m) => m.getSequence() === 1).map(redeliveryCount),
      [0, 1, 2],
    );
  } finally {
    await close(sc).catch(() => undefined);
  }
});
