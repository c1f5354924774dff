/**
 * The reference's streaming monitoring endpoints (spec §8): /streaming/serverz, storez,
 * clientsz, channelsz, isFTActive, and the /streaming HTML index. Field names, order and
 * omitempty rules follow the reference's Go structs.
 */
import type { StoreLimits, ChannelLimits } from '../config/options';
import type { ServerState, StanCore } from '../stan/core';
import type { Channel, Client, Subscription } from '../stan/state';
import { channelSubscriptions } from '../stan/subscription-walk';
import type { Store } from '../store/contract';
import { resolveChannelLimits } from '../store/limits/limits';
import { fdUsage, type FdUsage } from './fds';
import { nowString, offsetAndLimit, page, rfc3339Nano, uptime, atoi, type MonitorHttpServer, type RouteResult } from './http';

/** Reported as `version` (the reference version whose behaviour we reproduce) and `go`. */
export interface VersionInfo {
  version: string;
  go: string;
}

/**
 * What the endpoints read. `core`/`store` are absent while the server is not serving yet
 * (an FT standby waiting for the lease): lists are then empty and counts 0.
 */
export interface StreamingMonitorSource {
  readonly clusterID: string;
  readonly serverID: string;
  readonly startTime: Date;
  readonly state: ServerState;
  /** Clustered mode: reported as `role` and `node_id` (omitted otherwise, as the reference). */
  readonly cluster?: { readonly nodeID: string; readonly role: string };
  readonly core: StanCore | undefined;
  readonly store: Store | undefined;
  readonly limits: StoreLimits;
  readonly storeType: string;
}

const MS_TO_NS = 1_000_000;

export interface Subscriptionz {
  client_id: string;
  inbox: string;
  ack_inbox: string;
  durable_name?: string;
  queue_name?: string;
  is_durable: boolean;
  is_offline: boolean;
  max_inflight: number;
  ack_wait: number;
  last_sent: number;
  pending_count: number;
  is_stalled: boolean;
}

export function subz(sub: Subscription, lastOwner?: string): Subscriptionz {
  const st = sub.state;
  const z: Subscriptionz = {
    client_id: st.clientID !== '' ? st.clientID : (lastOwner ?? ''),
    inbox: st.inbox,
    ack_inbox: st.ackInbox,
    is_durable: st.isDurable,
    is_offline: sub.isOffline,
    max_inflight: st.maxInFlight,
    ack_wait: st.ackWaitInSecs,
    last_sent: sub.group ? Math.max(st.lastSent, sub.group.lastSent) : st.lastSent,
    pending_count: sub.pendingCount,
    is_stalled: sub.isStalled,
  };
  // Keep Go's field order: durable_name and queue_name come after ack_inbox.
  const ordered: Subscriptionz = {
    client_id: z.client_id,
    inbox: z.inbox,
    ack_inbox: z.ack_inbox,
    ...(st.durableName ? { durable_name: st.durableName } : {}),
    ...(st.qGroup ? { queue_name: st.qGroup } : {}),
    is_durable: z.is_durable,
    is_offline: z.is_offline,
    max_inflight: z.max_inflight,
    ack_wait: z.ack_wait,
    last_sent: z.last_sent,
    pending_count: z.pending_count,
    is_stalled: z.is_stalled,
  };
  return ordered;
}

/** Plain subs (incl. online durables) + offline durables + queue members + durable-queue shadows. */
export function channelSubs(ch: Channel): Subscriptionz[] {
  const out: Subscriptionz[] = [];
  for (const s of channelSubscriptions(ch)) out.push(subz(s));
  return out;
}

function clientz(c: Client, withSubs: boolean): Record<string, unknown> {
  const z: Record<string, unknown> = { id: c.id, hb_inbox: c.info.HbInbox, subs_count: c.subs.size };
  if (withSubs && c.subs.size > 0) {
    const m: Record<string, Subscriptionz[]> = {};
    for (const s of c.subs) (m[s.channel.name] ??= []).push(subz(s));
    z.subscriptions = m;
  }
  return z;
}

function channelz(ch: Channel, withSubs: boolean): Record<string, unknown> {
  const msgs = ch.store.msgs;
  const subs = channelSubs(ch);
  const z: Record<string, unknown> = {
    name: ch.name,
    msgs: msgs.msgCount,
    bytes: msgs.byteCount,
    first_seq: msgs.firstSeq,
    last_seq: msgs.lastSeq,
    subs_count: subs.length,
  };
  if (withSubs && subs.length > 0) z.subscriptions = subs;
  return z;
}

function limitsz(l: ChannelLimits): Record<string, number> {
  return {
    max_msgs: l.maxMsgs,
    max_bytes: l.maxBytes,
    max_age: l.maxAge * MS_TO_NS,
    max_subscriptions: l.maxSubscriptions,
    max_inactivity: l.maxInactivity * MS_TO_NS,
  };
}

export function storeLimitsz(limits: StoreLimits): Record<string, unknown> {
  const out: Record<string, unknown> = { max_channels: limits.maxChannels, ...limitsz(limits) };
  const names = Object.keys(limits.perChannel).sort();
  if (names.length > 0) {
    const per: Record<string, unknown> = {};
    for (const n of names) per[n] = limitsz(resolveChannelLimits(limits, n));
    out.channels = per;
  }
  return out;
}

/** Messages and bytes held by every channel (storez, and the /metrics store gauges). */
export function storeTotals(core: StanCore | undefined): { msgs: number; bytes: number } {
  let msgs = 0;
  let bytes = 0;
  if (core) {
    for (const ch of core.channels.values()) {
      msgs += ch.store.msgs.msgCount;
      bytes += ch.store.msgs.byteCount;
    }
  }
  return { msgs, bytes };
}

function header(src: StreamingMonitorSource): Record<string, unknown> {
  return { cluster_id: src.clusterID, server_id: src.serverID, now: nowString() };
}

export function sortedClients(core: StanCore | undefined): Client[] {
  if (!core) return [];
  return [...core.clients.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function sortedChannels(core: StanCore | undefined): Channel[] {
  if (!core) return [];
  return [...core.channels.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function serverz(src: StreamingMonitorSource, v: VersionInfo, fds: FdUsage = fdUsage()): Record<string, unknown> {
  const core = src.core;
  const t = storeTotals(core);
  const now = Date.now();
  const z: Record<string, unknown> = {
    cluster_id: src.clusterID,
    server_id: src.serverID,
    version: v.version,
    go: v.go,
    state: src.state,
    ...(src.cluster !== undefined ? { role: src.cluster.role, node_id: src.cluster.nodeID } : {}),
    now: nowString(),
    start_time: rfc3339Nano(src.startTime),
    uptime: uptime(now - src.startTime.getTime()),
    clients: core?.clients.size ?? 0,
    subscriptions: core?.subscriptionCount ?? 0,
    channels: core?.channels.size ?? 0,
    total_msgs: t.msgs,
    total_bytes: t.bytes,
    in_msgs: core?.stats.inMsgs ?? 0,
    in_bytes: core?.stats.inBytes ?? 0,
    out_msgs: core?.stats.outMsgs ?? 0,
    out_bytes: core?.stats.outBytes ?? 0,
  };
  // omitempty, as the reference (filled on Linux only).
  if (fds.open > 0) z.open_fds = fds.open;
  if (fds.max > 0) z.max_fds = fds.max;
  return z;
}

export function storez(src: StreamingMonitorSource): Record<string, unknown> {
  const t = storeTotals(src.core);
  return {
    ...header(src),
    type: src.storeType,
    limits: storeLimitsz(src.limits),
    total_msgs: t.msgs,
    total_bytes: t.bytes,
  };
}

export function clientsz(src: StreamingMonitorSource, q: URLSearchParams): RouteResult {
  const withSubs = atoi(q.get('subs')) === 1;
  const single = q.get('client');
  if (single !== null && single !== '') {
    const c = src.core?.clients.get(single);
    if (!c) return { status: 404, text: `Client ${single} not found` };
    return { json: clientz(c, withSubs) };
  }
  const { offset, limit } = offsetAndLimit(q);
  const all = sortedClients(src.core);
  const sel = page(all, offset, limit);
  return {
    json: {
      ...header(src),
      offset,
      limit,
      count: sel.length,
      total: all.length,
      clients: sel.map((c) => clientz(c, withSubs)),
    },
  };
}

export function channelsz(src: StreamingMonitorSource, q: URLSearchParams): RouteResult {
  const withSubs = atoi(q.get('subs')) === 1;
  const single = q.get('channel');
  if (single !== null && single !== '') {
    const ch = src.core?.channels.get(single);
    if (!ch) return { status: 404, text: `Channel ${single} not found` };
    return { json: channelz(ch, withSubs) };
  }
  const { offset, limit } = offsetAndLimit(q);
  const all = sortedChannels(src.core);
  const sel = page(all, offset, limit);
  const out: Record<string, unknown> = { ...header(src), offset, limit, count: sel.length, total: all.length };
  // As the reference: `names` by default, `channels` with subs=1, each left out when empty.
  if (withSubs) {
    if (sel.length > 0) out.channels = sel.map((ch) => channelz(ch, true));
  } else if (sel.length > 0) {
    out.names = sel.map((ch) => ch.name);
  }
  return { json: out };
}

const INDEX_HTML = `<html lang="en">
  <head>
    <title>NATS Streaming Server</title>
  </head>
  <body>
    <a href=/streaming/serverz>serverz</a><br/>
    <a href=/streaming/storez>storez</a><br/>
    <a href=/streaming/clientsz>clientsz</a><br/>
    <a href=/streaming/channelsz>channelsz</a><br/>
    <a href=/streaming/isFTActive>isFTActive</a><br/>
  </body>
</html>
`;

/** Registers the /streaming endpoints. */
export function registerStreamingRoutes(http: MonitorHttpServer, src: () => StreamingMonitorSource, v: VersionInfo): void {
  http.handle('/streaming', () => ({ status: 200, html: INDEX_HTML }));
  http.handle('/streaming/', () => ({ status: 200, html: INDEX_HTML }));
  http.handle('/streaming/serverz', () => ({ json: serverz(src(), v) }));
  http.handle('/streaming/storez', () => ({ json: storez(src()) }));
  http.handle('/streaming/clientsz', (q) => clientsz(src(), q));
  http.handle('/streaming/channelsz', (q) => channelsz(src(), q));
  // The reference: 200 only on the active server of an FT group, 204 otherwise (STANDALONE too).
  http.handle('/streaming/isFTActive', () => ({ status: src().state === 'FT_ACTIVE' ? 200 : 204, empty: true }));
}
