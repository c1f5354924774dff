/**
 * src/stan — the STAN server proper: everything between "a NATS message arrived on one of
 * our subjects" and "the store recorded it / the client got its answer". It owns:
 *
 *   streaming-server.ts  a whole server: start-up steps (startup.ts), FT step-down, reload, shutdown
 *   startup.ts           the named start-up steps: options, store, nats, monitor, ft, core
 *   core.ts              StanCore: wires the parts below, listen early / recover / serve / shut down
 *   context.ts           what the parts share (options, store, transport, clock, stats, routing)
 *   clients.ts           client registry, connect, duplicate-client probe, ping, close
 *   heartbeats.ts        server-to-client heartbeats
 *   channels.ts          channel registry, lazy creation, max_inactivity deletion
 *   publish.ts           the publish fast path (decode, sequence, record in the store)
 *   commit-pipeline.ts   the only place a store commit becomes deliveries and PubAcks
 *   subscribe.ts         subscriptions: start positions, durables, queue groups, acks, unsubscribe
 *   delivery.ts          sending, max in flight, ack wait and redelivery
 *   recovery.ts          applies the store's recovered (already cleaned-up) state
 *   subscription-walk.ts the one walk over a channel's subscriptions (counts, monitor, metrics)
 *   clock.ts             injected time: every now/timer of the core goes through it
 *   early-requests.ts    requests held while the store recovers
 *   limit-notice.ts      the "Reached limits" notice
 *   partitioning.ts      channel partitioning (spec §7.2)
 *   config-reload.ts     SIGHUP: what the embedded NATS server can change at runtime
 *   state.ts, subjects.ts, errors.ts, unsupported.ts  runtime records, names, error strings, option checks
 *
 * It does not own the wire codecs (src/protocol), NATS itself (src/nats), the store
 * (src/store), the HTTP monitor (src/monitor) or the CLI (src/cli).
 */
export { StreamingServer, STAN_VERSION, type StartOptions } from './streaming-server';
export { StanCore, type ServerState, type StanCoreStats } from './core';
