/**
 * Admin API in an FT group (two real server processes, a real nats-server, each FT store:
 * FILE, PostgreSQL, MariaDB): the standby refuses mutating calls with 503 not_active naming
 * the FT group and the active server's ID (the lease's owner, as its /streaming/serverz
 * shows it); a purge and a durable reset made on the active are events in the shared log, so
 * the standby that takes over after a kill -9 of the active has them (channel first
 * sequence, durable position seen by the real client).
 */
import assert from 'node:assert/strict';
import { freePort, type Proc } from '../helpers/proc';
import { Collector, close, endSub, opts, publishN, subscribe } from '../helpers/stan';
import { connectClient, waitActive, withFtBackends } from '../helpers/ft';
import { httpGet } from '../helpers/http';

const TOKEN = 'ft-admin-token';

async function post(port: number, path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

withFtBackends('admin API in an FT group', 'standby answers 503 naming the group and the active server; purge and reset survive a takeover', async ({ backend, natsURL, spawn: spawnFtServer }) => {
  const cid = `ft-admin-${backend}`;
  const group = `ga-${backend}`;
  const spawn = async (): Promise<{ proc: Proc; port: number }> => {
    const port = await freePort();
    const proc = await spawnFtServer({ clusterID: cid, group, extra: ['-m', String(port), '--admin_token', TOKEN] });
    return { proc, port };
  };
  const a = await spawn();
  await waitActive(a.proc);
  const b = await spawn();

  const sc = await connectClient(natsURL, cid, 'ft-admin-client');
  try {
    await publishN(sc, 'ft.orders', 10);
    const durable = opts(sc, (o) => o.setDurableName('d').setDeliverAllAvailable());
    const s1 = await subscribe(sc, 'ft.orders', durable);
    await new Collector(s1).waitFor(10);
    await endSub(s1, 'close');

    // The standby names the active server by the ID the lease holds: its server ID.
    const activeID = ((await httpGet(a.port, '/streaming/serverz')).json() as { server_id: string }).server_id;
    const refused = await post(b.port, '/admin/v1/channels/ft.orders/purge', {});
    assert.equal(refused.status, 503);
    assert.deepEqual([refused.body['code'], refused.body['ft_group'], refused.body['active_server']], ['not_active', group, activeID]);
    assert.match(String(refused.body['message']), new RegExp(`server ID "${activeID}"`));

    assert.equal((await post(a.port, '/admin/v1/channels/ft.orders/purge', { before_seq: 4 })).status, 200);
    assert.equal((await post(a.port, '/admin/v1/channels/ft.orders/durables/reset', { client_id: 'ft-admin-client', durable: 'd', seq: 6 })).status, 200);

    a.proc.child.kill('SIGKILL');
    await waitActive(b.proc, 20000);
    const z = (await httpGet(b.port, '/streaming/channelsz?channel=ft.orders')).json() as { first_seq: number; last_seq: number; msgs: number };
    assert.deepEqual([z.first_seq, z.last_seq, z.msgs], [4, 10, 7]);
    const resumed = new Collector(await subscribe(sc, 'ft.orders', durable));
    await resumed.waitFor(5, 10000);
    assert.deepEqual(resumed.seqs(), [6, 7, 8, 9, 10]);
  } finally {
    await close(sc).catch(() => undefined);
  }
});
