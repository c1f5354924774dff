/**
 * `/metrics` in the Prometheus text format (beyond the reference). Each server has its own
 * prom-client Registry (several servers may run in one process); gauges and counters are
 * filled on scrape from the live server state, the store commit histograms from the SQL
 * store's `onCommit` hook (FILE and SQL stores).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StanCore } from '../stan/core';
import { channelSubscriptions } from '../stan/subscription-walk';
import { isCommitObservable, type Store } from '../store/contract';
import type { MonitorHttpServer } from './http';
import { storeTotals } from './streaming';
import type { MonitorContext } from './context';

const FT_STATES = ['STANDALONE', 'FT_ACTIVE', 'FT_STANDBY', 'FAILED', 'SHUTDOWN'] as const;

function pendingAcks(core: StanCore): number {
  let n = 0;
  for (const ch of core.channels.values()) for (const s of channelSubscriptions(ch)) n += s.pendingCount;
  return n;
}

/** Builds the server's registry; `ctx` is read on every scrape. */
export function createMetricsRegistry(ctx: MonitorContext): Registry {
  // Kept whole (~85 lines): one declaration per metric, read top to bottom as the list of
  // what /metrics exports.
  const registry = new Registry();
  const core = (): StanCore | undefined => ctx.server?.core;
  /** A counter mirroring a monotonically increasing value of the server. */
  const mirror = (name: string, help: string, read: (c: StanCore) => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const c = core();
        const v = c ? read(c) : 0;
        // A restarted core (new StanCore) starts from 0: never go backwards.
        if (v > last) this.inc(v - last);
        last = Math.max(last, v);
      },
    });
  };
  mirror('stan_in_msgs_total', 'Messages published to the streaming server.', (c) => c.stats.inMsgs);
  mirror('stan_in_bytes_total', 'Bytes of messages published to the streaming server.', (c) => c.stats.inBytes);
  mirror('stan_out_msgs_total', 'Messages delivered to subscriptions (including redeliveries).', (c) => c.stats.outMsgs);
  mirror('stan_out_bytes_total', 'Bytes of messages delivered to subscriptions.', (c) => c.stats.outBytes);
  mirror('stan_redeliveries_total', 'Messages redelivered (sent with redelivered=true).', (c) => c.stats.redeliveries);

  const deadLettered = new Map<string, number>();
  new Counter({
    name: 'stan_dead_lettered_messages_total',
    help: 'Messages that reached max deliveries (dead-lettered or dropped), by source channel.',
    labelNames: ['channel'],
    registers: [registry],
    collect() {
      const c = core();
      if (!c) return;
      for (const [channel, v] of c.stats.deadLettered) {
        // A restarted core starts from 0: never go backwards (as mirror() above).
        const last = deadLettered.get(channel) ?? 0;
        if (v > last) this.inc({ channel }, v - last);
        deadLettered.set(channel, Math.max(last, v));
      }
    },
  });

  const gauge = (name: string, help: string, read: (c: StanCore) => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const c = core();
        this.set(c ? read(c) : 0);
      },
    });
  };
  gauge('stan_channels', 'Channels.', (c) => c.channels.size);
  gauge('stan_clients', 'Connected clients.', (c) => c.clients.size);
  gauge('stan_subscriptions', 'Subscriptions (as counted by /streaming/serverz).', (c) => c.subscriptionCount);
  gauge('stan_pending_acks', 'Messages delivered and not yet acknowledged.', pendingAcks);
  gauge('stan_store_msgs', 'Messages held in the store.', (c) => storeTotals(c).msgs);
  gauge('stan_store_bytes', 'Bytes of messages held in the store.', (c) => storeTotals(c).bytes);
  new Gauge({
    name: 'stan_server_state',
    help: 'Server state (1 for the current state).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const cur = ctx.server ? ctx.server.state : ctx.state;
      for (const s of FT_STATES) this.set({ state: s }, s === cur ? 1 : 0);
    },
  });
  new Gauge({
    name: 'stan_store_info',
    help: 'Store type (always 1).',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ type: ctx.store?.type ?? ctx.options.streaming.storeType }, 1);
    },
  });

  collectDefaultMetrics({ register: registry, prefix: 'stan_' });
  return registry;
}

/** Observes the group commits of a SQL-backed store (FILE/SQL); no-op for MEMORY. */
export function observeStoreCommits(registry: Registry, store: Store | undefined): void {
  if (!isCommitObservable(store)) return;
  const latency = new Histogram({
    name: 'stan_store_commit_seconds',
    help: 'Duration of a store group commit (one transaction).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rows = new Histogram({
    name: 'stan_store_commit_batch_msgs',
    help: 'Message rows written per store group commit.',
    buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [registry],
  });
  const events = new Histogram({
    name: 'stan_store_commit_batch_events',
    help: 'Event rows (subscriptions, acks, clients, ...) written per store group commit.',
    buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [registry],
  });
  const prev = store.onCommit;
  store.onCommit = (r, e, s) => {
    prev?.(r, e, s);
    latency.observe(s);
    rows.observe(r);
    events.observe(e);
  };
}

export function registerMetricsRoute(http: MonitorHttpServer, registry: Registry): void {
  http.handle('/metrics', async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }));
}
