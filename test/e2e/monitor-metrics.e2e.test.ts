/**
 * HTTP monitoring, `/metrics` (Prometheus text format, beyond the reference): exact counts
 * after a known load with the real client, per-state gauge, process metrics, redeliveries,
 * and the store group-commit histograms on the FILE store (absent on MEMORY).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type ServerHandle } from '../../src/index';
import { freePort } from '../helpers/proc';
import { close, Collector, connect, publish, sleep, subscribe, type Stan } from '../helpers/stan';
import { httpGet } from '../helpers/http';

/** `name{labels}` → value, from the Prometheus text format. */
function parse(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const N = 7;
const PAYLOAD = 'p'.repeat(50);

for (const storeType of ['MEMORY', 'FILE'] as const) {
  describe(`monitoring: /metrics (${storeType} store)`, () => {
    let s: ServerHandle;
    let port: number;
    let dir: string | undefined;
    const clients: Stan[] = [];

    before(async () => {
      port = await freePort();
      const streaming: Record<string, unknown> = { clusterID: 'metrics-cluster' };
      if (storeType === 'FILE') {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-metrics-'));
        streaming.storeType = 'FILE';
        streaming.filestoreDir = dir;
      }
      s = await startServer({ streaming, nats: { port: 0, httpPort: port } });
      const a = await connect(s.natsURL, 'metrics-cluster', 'met-a');
      const b = await connect(s.natsURL, 'metrics-cluster', 'met-b');
      clients.push(a, b);
      for (let i = 0; i < N; i++) await publish(a, 'foo', PAYLOAD);
      await publish(a, 'bar', 'x');
      const sub = await subscribe(b, 'foo', b.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true));
      const col = new Collector(sub, true);
      await col.waitFor(N);
      // Let the acks reach the server.
      await sleep(200);
    });
    after(async () => {
      for (const sc of clients) await close(sc).catch(() => undefined);
      await s?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('content type, help texts and exact counts', async () => {
      const r = await httpGet(port, '/metrics');
      assert.equal(r.status, 200);
      assert.match(r.contentType, /^text\/plain; version=0\.0\.4/);
      assert.match(r.body, /^# HELP stan_in_msgs_total /m);
      assert.match(r.body, /^# TYPE stan_in_msgs_total counter$/m);
      const m = parse(r.body);
      assert.equal(m.get('stan_in_msgs_total'), N + 1);
      assert.equal(m.get('stan_in_bytes_total')! > 0, true);
      assert.equal(m.get('stan_out_msgs_total'), N);
      assert.equal(m.get('stan_redeliveries_total'), 0);
      assert.equal(m.get('stan_channels'), 2);
      assert.equal(m.get('stan_clients'), 2);
      assert.equal(m.get('stan_subscriptions'), 1);
      assert.equal(m.get('stan_pending_acks'), 0);
      assert.equal(m.get('stan_store_msgs'), N + 1);
      assert.equal(m.get('stan_store_bytes')! > N * PAYLOAD.length, true);
      assert.equal(m.get('stan_server_state{state="STANDALONE"}'), 1);
      assert.equal(m.get('stan_server_state{state="FT_ACTIVE"}'), 0);
      assert.equal(m.get(`stan_store_info{type="${storeType}"}`), 1);
      // Process metrics in the same registry.
      assert.ok(m.has('stan_process_cpu_user_seconds_total'));
      assert.ok([...m.keys()].some((k) => k.startsWith('stan_nodejs_')));
    });

    test('counters follow the load', async () => {
      await publish(clients[0]!, 'foo', PAYLOAD);
      await sleep(200);
      const m = parse((await httpGet(port, '/metrics')).body);
      assert.equal(m.get('stan_in_msgs_total'), N + 2);
      assert.equal(m.get('stan_out_msgs_total'), N + 1);
    });

    test('store commit histograms', async () => {
      const m = parse((await httpGet(port, '/metrics')).body);
      if (storeType === 'FILE') {
        assert.ok(m.get('stan_store_commit_seconds_count')! > 0);
        assert.ok(m.has('stan_store_commit_seconds_bucket{le="+Inf"}'));
        assert.ok(m.get('stan_store_commit_batch_msgs_sum')! >= N + 2);
        assert.ok(m.get('stan_store_commit_batch_events_count')! > 0);
      } else {
        assert.equal(m.has('stan_store_commit_seconds_count'), false);
      }
    });
  });
}

describe('monitoring: /metrics redeliveries and pending acks', () => {
  let s: ServerHandle;
  let port: number;
  let sc: Stan;

  before(async () => {
    port = await freePort();
    s = await startServer({ streaming: { clusterID: 'metrics-redeliv' }, nats: { port: 0, httpPort: port } });
    sc = await connect(s.natsURL, 'metrics-redeliv', 'met-r');
  });
  after(async () => {
    await close(sc).catch(() => undefined);
    await s?.close();
  });

  test('unacknowledged messages are pending, then counted as redelivered', async () => {
    for (let i = 0; i < 3; i++) await publish(sc, 'r', 'x');
    const sub = await subscribe(sc, 'r', sc.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setAckWait(1000));
    const col = new Collector(sub, false);
    await col.waitFor(3);
    let m = parse((await httpGet(port, '/metrics')).body);
    assert.equal(m.get('stan_pending_acks'), 3);
    assert.equal(m.get('stan_redeliveries_total'), 0);
    await col.waitFor(6, 5000);
    m = parse((await httpGet(port, '/metrics')).body);
    assert.ok(m.get('stan_redeliveries_total')! >= 3);
    assert.equal(m.get('stan_pending_acks'), 3);
  });
});
