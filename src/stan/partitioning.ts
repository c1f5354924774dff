/**
 * Channel partitioning (`partitioning: true`, spec §7.2): several servers share one cluster
 * ID on one NATS network, each owning the channels listed in its `store_limits.channels`
 * (wildcards allowed). This module holds everything specific to that mode:
 *
 *  - the channel list and its rules (who owns a channel, do two lists overlap);
 *  - the wire encoding of the list carried in `CtrlMsg{Partitioning}.Data`;
 *  - the start-up (and topology-change) conflict check on `_STAN.part.<cid>` and the
 *    listener that answers other servers' checks;
 *  - the short wait for a client's connect to be registered before a publish or a
 *    subscription from it is refused.
 *
 * The STAN core (server.ts) only asks `owns(channel)` and waits through `ClientRegistry`.
 */
import type { StreamingOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import type { NatsTransport, TransportSubscription } from '../nats/transport';
import { CtrlMsgCodec, CtrlMsgType } from '../protocol/codec';
import { subjectMatches, tokenPatternsOverlap } from '../subject';
import { StanServerError, errorText, toError } from '../errors';

/** Spec §7.2 / §4: start-up errors of this mode (verbatim). */
export const ERR_NO_CHANNEL = 'stan: no configured channel';
export const ERR_PARTITIONING_WITH_CLUSTERING = 'stan: channels partitioning in clustering mode is not supported';

/** How long the check waits for one more reply (the window restarts with every reply). */
export const PARTITION_REPLY_WAIT_MS = 1000;
/** How long a publish/subscription waits for its client's connect to be registered. */
export const CLIENT_CHECK_TIMEOUT_MS = 1000;
/** After the NATS cluster grew, wait this long (routes settle) before re-sending the list. */
export const TOPOLOGY_RECHECK_DELAY_MS = 500;
/**
 * Upper bound of the Data of one CtrlMsg. Longer lists are split over several messages
 * (each is checked on its own by the receivers); far below NATS' default 1 MB max payload.
 */
export const MAX_LIST_BYTES = 64 * 1024;
/** Names are prefixed with a uint16 length. */
const MAX_NAME_BYTES = 0xffff;

export function partitionSubject(clusterID: string): string {
  return `_STAN.part.${clusterID}`;
}

export class PartitionConflictError extends StanServerError {
  override readonly kind = 'nats' as const;
  constructor(
    readonly channel: string,
    readonly serverID: string,
  ) {
    super(`channel "${channel}" causes conflict with channels on server "${serverID}"`);
    this.name = 'PartitionConflictError';
  }
}

// ---------------------------------------------------------------------------------------
// Options

/**
 * Start-up validation of the mode (before anything is opened): a channel list is required,
 * clustering is refused, and every name must fit the uint16 length of the wire encoding.
 */
export function validatePartitioning(so: StreamingOptions): void {
  if (!so.partitioning) return;
  if (so.clustering.clustered) throw new Error(ERR_PARTITIONING_WITH_CLUSTERING);
  const names = Object.keys(so.storeLimits.perChannel);
  if (names.length === 0) throw new Error(ERR_NO_CHANNEL);
  for (const n of names) {
    if (Buffer.byteLength(n, 'utf8') > MAX_NAME_BYTES) {
      throw new Error(`partitioning: channel name "${n.slice(0, 40)}…" is longer than ${MAX_NAME_BYTES} bytes`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Subject rules

function tokens(s: string): string[] {
  return s.split('.');
}

/**
 * Do two subjects (literal or with `*` / `>` wildcards) have a literal subject in common?
 * This is what "overlap" means for partitions: `foo.*` and `foo.bar` overlap, `foo.*` and
 * `*.bar` overlap (both match `foo.bar`), `foo.>` and `foo` do not (`>` needs one token).
 */
export function subjectsIntersect(a: string, b: string): boolean {
  return tokenPatternsOverlap(tokens(a), tokens(b));
}

/**
 * The first channel of `theirs` that overlaps one of `ours` (that is the name a server
 * returns in its reply), or undefined when the lists are disjoint.
 */
export function firstConflict(theirs: readonly string[], ours: readonly string[]): string | undefined {
  for (const t of theirs) {
    for (const o of ours) if (subjectsIntersect(t, o)) return t;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Wire encoding: Data = repeated [uint16 little-endian length][name bytes]

/** Encodes a channel list, split into payloads of at most `maxBytes` each. */
export function encodeChannelLists(names: readonly string[], maxBytes = MAX_LIST_BYTES): Uint8Array[] {
  const out: Uint8Array[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  for (const name of names) {
    const bytes = Buffer.from(name, 'utf8');
    if (bytes.length > MAX_NAME_BYTES) throw new Error(`partitioning: channel name too long (${bytes.length} bytes)`);
    const need = 2 + bytes.length;
    if (need > maxBytes) throw new Error(`partitioning: channel "${name}" does not fit in one list message`);
    if (size + need > maxBytes) {
      out.push(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16LE(bytes.length, 0);
    parts.push(len, bytes);
    size += need;
  }
  if (size > 0 || out.length === 0) out.push(Buffer.concat(parts, size));
  return out;
}

/** Decodes one list payload; throws on a truncated length or name. */
export function decodeChannelList(data: Uint8Array): string[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const names: string[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (pos + 2 > buf.length) throw new Error(`partitioning: unable to decode size, pos=${pos} len=${buf.length}`);
    const n = buf.readUInt16LE(pos);
    pos += 2;
    if (pos + n > buf.length) throw new Error(`partitioning: unable to decode channel, pos=${pos} len=${n} max=${buf.length}`);
    names.push(buf.toString('utf8', pos, pos + n));
    pos += n;
  }
  return names;
}

// ---------------------------------------------------------------------------------------
// The channel list of this server

export class ChannelPartition {
  readonly channels: readonly string[];
  /**
   * True when two entries of this server's own list overlap (`foo.*` and `foo.bar`): the
   * per-channel NATS subscriptions then both receive such a publish, and only the first
   * matching one may process it.
   */
  readonly selfOverlap: boolean;
  /** owns() answers, per channel name (bounded: cleared when it grows too large). */
  private readonly ownCache = new Map<string, boolean>();
  private static readonly CACHE_LIMIT = 10_000;

  constructor(channels: readonly string[]) {
    this.channels = [...channels];
    let overlap = false;
    for (let i = 0; i < this.channels.length && !overlap; i++) {
      for (let j = i + 1; j < this.channels.length; j++) {
        if (subjectsIntersect(this.channels[i], this.channels[j])) {
          overlap = true;
          break;
        }
      }
    }
    this.selfOverlap = overlap;
  }

  /** Is the literal channel handled by this server? */
  owns(channel: string): boolean {
    let r = this.ownCache.get(channel);
    if (r === undefined) {
      r = this.channels.some((p) => subjectMatches(p, channel));
      if (this.ownCache.size >= ChannelPartition.CACHE_LIMIT) this.ownCache.clear();
      this.ownCache.set(channel, r);
    }
    return r;
  }

  /** Index of the first list entry matching the literal channel (-1: none). */
  firstMatch(channel: string): number {
    return this.channels.findIndex((p) => subjectMatches(p, channel));
  }
}

// ---------------------------------------------------------------------------------------
// Conflict check between servers

export interface PartitionPeerOptions {
  clusterID: string;
  serverID: string;
  partition: ChannelPartition;
  /** Traffic (the FT gate when FT is on: a server that is not active stays silent). */
  nc: NatsTransport;
  log: Logger;
}

/**
 * This server's side of the protocol on `_STAN.part.<cid>`: answers the lists other
 * servers send, and sends its own list and collects the answers.
 */
export class PartitionPeer {
  private listener: TransportSubscription | undefined;
  private topology: TransportSubscription | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly o: PartitionPeerOptions) {}

  get subject(): string {
    return partitionSubject(this.o.clusterID);
  }

  /** Starts answering other servers' lists. */
  listen(): void {
    this.listener = this.o.nc.subscribe(this.subject, (_s, reply, data) => this.onList(reply, data));
  }

  private onList(reply: string | undefined, data: Uint8Array): void {
    if (data.length === 0 || reply === undefined || this.closed) return;
    let serverID: string;
    let theirs: string[];
    try {
      const req = CtrlMsgCodec.decode(data);
      serverID = req.ServerID;
      if (serverID === this.o.serverID) return; // our own list, looped back
      theirs = decodeChannelList(req.Data);
    } catch (err) {
      this.o.log.error(`Error processing partitioning request: ${errorText(err)}`);
      return;
    }
    const conflict = firstConflict(theirs, this.o.partition.channels);
    if (conflict !== undefined) {
      this.o.log.error(`Partitioning: channel "${conflict}" of server "${serverID}" overlaps channels of this server`);
    }
    this.o.nc.publish(
      reply,
      // Default-valued fields are left out, as the reference's encoder does.
      CtrlMsgCodec.encode({
        MsgType: CtrlMsgType.Partitioning,
        ServerID: this.o.serverID,
        ...(conflict === undefined ? {} : { Data: Buffer.from(conflict, 'utf8') }),
      }),
    );
  }

  /**
   * Sends our list and waits for answers until none came for PARTITION_REPLY_WAIT_MS.
   * Rejects with PartitionConflictError on the first answer naming a channel.
   */
  check(): Promise<void> {
    // Concurrent triggers (start-up and a topology change) share one round.
    this.checking ??= this.runCheck().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  private runCheck(): Promise<void> {
    const nc = this.o.nc;
    const inbox = nc.newInbox();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        sub.unsubscribe();
        if (err) reject(err);
        else resolve();
      };
      const arm = (): void => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => finish(), PARTITION_REPLY_WAIT_MS);
      };
      const sub = nc.subscribe(inbox, (_s, _r, data) => {
        let serverID: string;
        let channel: string;
        try {
          const m = CtrlMsgCodec.decode(data);
          serverID = m.ServerID;
          channel = Buffer.from(m.Data).toString('utf8');
        } catch (err) {
          finish(new Error(`unable to decode partitioning response: ${errorText(err)}`));
          return;
        }
        if (channel !== '') finish(new PartitionConflictError(channel, serverID));
        else arm();
      });
      try {
        for (const list of encodeChannelLists(this.o.partition.channels)) {
          nc.publish(
            this.subject,
            CtrlMsgCodec.encode({ MsgType: CtrlMsgType.Partitioning, ServerID: this.o.serverID, Data: list }),
            inbox,
          );
        }
      } catch (err) {
        finish(new Error(`unable to send channels list: ${errorText(err)}`));
        return;
      }
      arm();
      nc.flush().catch(() => undefined);
    });
  }

  /**
   * Re-checks TOPOLOGY_RECHECK_DELAY_MS after the NATS cluster reports new servers (servers
   * that were unreachable at start-up may own the same channels). A conflict found then is
   * fatal, as at start-up: `onConflict` stops the server.
   */
  watchTopology(source: NatsTransport, onConflict: (err: Error) => void): void {
    if (source.onServersAdded === undefined) return;
    this.topology = source.onServersAdded(() => {
      if (this.closed) return;
      if (this.recheckTimer) clearTimeout(this.recheckTimer);
      this.recheckTimer = setTimeout(() => {
        this.recheckTimer = undefined;
        if (this.closed) return;
        this.o.log.debug('Partitioning: NATS cluster topology changed, sending the channels list again');
        this.check().catch((err: unknown) => {
          if (!this.closed) onConflict(toError(err));
        });
      }, TOPOLOGY_RECHECK_DELAY_MS);
    });
  }

  close(): void {
    this.closed = true;
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.listener?.unsubscribe();
    this.topology?.unsubscribe();
  }
}

// ---------------------------------------------------------------------------------------
// Waiting for a connect to be registered

/**
 * Every server answers connects, but a client proceeds with the first answer: another
 * server may receive its first publish or subscription before it registered the connect
 * (different NATS subscriptions, a commit in flight). Requests from an unknown client wait
 * up to CLIENT_CHECK_TIMEOUT_MS for the registration; a client that did not show up in time
 * is remembered as unknown, so its next requests fail at once (until it registers).
 *
 * Keys: `id:<clientID>` or `conn:<connID key>` (publishes look a client up by connID when
 * they carry one).
 */
export class ClientRegistry {
  private readonly waiters = new Map<string, Array<(ok: boolean) => void>>();
  private readonly knownInvalid = new Set<string>();
  private static readonly KNOWN_INVALID_LIMIT = 10_000;

  static idKey(clientID: string): string {
    return `id:${clientID}`;
  }

  static connKey(connKey: string): string {
    return `conn:${connKey}`;
  }

  /** Called by the core when a client is registered (connect or recovery). */
  registered(clientID: string, connKey: string): void {
    for (const k of connKey ? [ClientRegistry.idKey(clientID), ClientRegistry.connKey(connKey)] : [ClientRegistry.idKey(clientID)]) {
      this.knownInvalid.delete(k);
      const w = this.waiters.get(k);
      if (w !== undefined) {
        this.waiters.delete(k);
        for (const f of w) f(true);
      }
    }
  }

  /**
   * Resolves true when `isKnown()` becomes true within the timeout (checked on every
   * registration of that key), false otherwise or at once when the key is known invalid.
   */
  waitFor(key: string, isKnown: () => boolean, timeoutMs = CLIENT_CHECK_TIMEOUT_MS): Promise<boolean> {
    if (isKnown()) return Promise.resolve(true);
    if (this.knownInvalid.has(key)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onRegistered = (): void => {
        clearTimeout(t);
        resolve(isKnown());
      };
      const t = setTimeout(() => {
        const list = this.waiters.get(key);
        if (list !== undefined) {
          const i = list.indexOf(onRegistered);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.waiters.delete(key);
        }
        const ok = isKnown();
        if (!ok) {
          if (this.knownInvalid.size >= ClientRegistry.KNOWN_INVALID_LIMIT) this.knownInvalid.clear();
          this.knownInvalid.add(key);
        }
        resolve(ok);
      }, timeoutMs);
      let list = this.waiters.get(key);
      if (list === undefined) {
        list = [];
        this.waiters.set(key, list);
      }
      list.push(onRegistered);
    });
  }

  /** Releases every waiter (shutdown): they see "unknown". */
  close(): void {
    for (const list of this.waiters.values()) for (const f of list) f(false);
    this.waiters.clear();
  }
}

// ---------------------------------------------------------------------------------------
// Start-up

export interface StartPartitioningOptions {
  clusterID: string;
  serverID: string;
  /** The core's transport (gated in FT mode). */
  nc: NatsTransport;
  /** The raw NATS connection, watched for topology changes. */
  topologySource: NatsTransport;
  log: Logger;
  /** A conflict found after start-up (topology change): the server must stop. */
  onConflict: (err: Error) => void;
}

/**
 * Puts a core in partitioning mode and runs the start-up check (spec §7.2). Must run before
 * the core recovers and listens. Rejects (the server must not start) on a conflict.
 */
export async function startPartitioning(
  core: { enablePartitioning(p: ChannelPartition): void },
  channels: readonly string[],
  o: StartPartitioningOptions,
): Promise<PartitionPeer> {
  const partition = new ChannelPartition(channels);
  core.enablePartitioning(partition);
  const peer = new PartitionPeer({ clusterID: o.clusterID, serverID: o.serverID, partition, nc: o.nc, log: o.log });
  peer.listen();
  o.log.notice(`Partitioning: this server handles channels ${partition.channels.map((c) => `"${c}"`).join(', ')}`);
  try {
    await peer.check();
  } catch (err) {
    peer.close();
    throw err;
  }
  peer.watchTopology(o.topologySource, o.onConflict);
  return peer;
}
