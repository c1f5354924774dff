/**
 * The client registry (spec §3.1, §3.7): connect requests, the liveness probe of an already
 * registered client ID, pings, and closing a client (request, replacement, heartbeats).
 */
import {
  ClientInfo,
  CloseRequestCodec,
  CloseResponseCodec,
  ConnectRequest,
  ConnectRequestCodec,
  ConnectResponseCodec,
  PingCodec,
  PingResponseCodec,
} from '../protocol/codec';
import type { CoreContext } from './context';
import * as E from './errors';
import { errorText } from '../errors';
import { Heartbeats } from './heartbeats';
import { Client, connIDKey, type Subscription } from './state';
import { isValidClientID } from './subjects';

/** How long the liveness probe of an already registered client ID waits (spec §3.1). */
export const DUP_CLIENT_PROBE_MS = 500;

export interface ClientsDeps {
  /** Takes a subscription out of the runtime state (subscribe.ts): a close keeps durables. */
  removeSub(sub: Subscription, unsubscribe: boolean): void;
  /** Resolves once every publish received so far is committed and acknowledged. */
  barrier(): Promise<void>;
}

export class Clients {
  readonly byID = new Map<string, Client>();
  readonly byConn = new Map<string, Client>();
  private readonly dupChecks = new Set<string>();
  readonly heartbeats: Heartbeats;

  constructor(
    private readonly ctx: CoreContext,
    private readonly deps: ClientsDeps,
  ) {
    this.heartbeats = new Heartbeats(ctx, (c) => void this.close(c, 'heartbeats'));
  }

  register(info: ClientInfo): Client {
    const c = new Client(info, connIDKey(info.ConnID));
    this.byID.set(info.ID, c);
    if (c.connKey) this.byConn.set(c.connKey, c);
    this.ctx.routing.registry?.registered(info.ID, c.connKey);
    return c;
  }

  private connectError(reply: string | undefined, error: string): void {
    this.ctx.reply(reply, ConnectResponseCodec.encode({ error }));
  }

  onConnect(reply: string | undefined, data: Uint8Array): void {
    const { log } = this.ctx;
    let req: ConnectRequest;
    try {
      req = ConnectRequestCodec.decode(data);
    } catch {
      log.error(`Invalid connection request: unable to decode`);
      return this.connectError(reply, E.ERR_INVALID_CONN_REQ);
    }
    if (!req.heartbeatInbox) {
      log.error(`[Client:${req.clientID}] Invalid connection request: missing heartbeat inbox`);
      return this.connectError(reply, E.ERR_INVALID_CONN_REQ);
    }
    if (!isValidClientID(req.clientID)) {
      log.error(`[Client:${req.clientID}] Invalid client ID`);
      return this.connectError(reply, E.ERR_INVALID_CLIENT_ID);
    }
    const existing = this.byID.get(req.clientID);
    if (!existing) return void this.accept(req, reply, false);
    if (this.dupChecks.has(req.clientID)) {
      log.error(`[Client:${req.clientID}] Connect failed; already registered (check in progress)`);
      return this.connectError(reply, E.ERR_CLIENT_ID_REGISTERED);
    }
    this.probeThenReplace(req, existing, reply);
  }

  /** Is the old connection alive? Ask its heartbeat inbox before replacing it (spec §3.1). */
  private probeThenReplace(req: ConnectRequest, existing: Client, reply: string | undefined): void {
    const { log } = this.ctx;
    this.dupChecks.add(req.clientID);
    this.ctx.nc.request(existing.info.HbInbox, new Uint8Array(0), DUP_CLIENT_PROBE_MS).then(
      () => {
        this.dupChecks.delete(req.clientID);
        log.error(`[Client:${req.clientID}] Connect failed; already registered and the existing client answered`);
        this.connectError(reply, E.ERR_CLIENT_ID_REGISTERED);
      },
      async () => {
        try {
          // Close whichever client holds the ID now: it may have changed during the probe.
          const current = this.byID.get(req.clientID);
          if (current !== undefined) {
            await this.close(current, 'replaced');
            log.debug(`[Client:${req.clientID}] Replaced old client (Inbox=${current.info.HbInbox})`);
          }
          await this.accept(req, reply, true);
        } finally {
          this.dupChecks.delete(req.clientID);
        }
      },
    );
  }

  private async accept(req: ConnectRequest, reply: string | undefined, replaced: boolean): Promise<void> {
    const { ctx } = this;
    const info: ClientInfo = {
      ID: req.clientID,
      HbInbox: req.heartbeatInbox,
      ConnID: req.connID ?? new Uint8Array(0),
      Protocol: req.protocol,
      PingInterval: req.pingInterval,
      PingMaxOut: req.pingMaxOut,
    };
    let client: Client;
    try {
      client = this.register(info);
      ctx.store.addClient(info);
      await ctx.store.commit();
    } catch (err) {
      this.byID.delete(req.clientID);
      this.byConn.delete(connIDKey(req.connID));
      const msg = errorText(err);
      ctx.log.error(`[Client:${req.clientID}] Error registering client: ${msg}`);
      return this.connectError(reply, msg);
    }
    const s = ctx.info();
    const proto1 = req.protocol >= 1;
    ctx.reply(
      reply,
      ConnectResponseCodec.encode({
        pubPrefix: s.Publish,
        subRequests: s.Subscribe,
        unsubRequests: s.Unsubscribe,
        closeRequests: s.Close,
        subCloseRequests: s.SubClose,
        // Ping fields only for protocol-1 clients; default values are left out, as proto3 does.
        ...(proto1 ? { pingRequests: `${s.Discovery}.pings` } : {}),
        ...(proto1 && req.pingInterval ? { pingInterval: req.pingInterval } : {}),
        ...(proto1 && req.pingMaxOut ? { pingMaxOut: req.pingMaxOut } : {}),
        protocol: 1,
      }),
    );
    this.heartbeats.schedule(client, ctx.opts.clientHBInterval);
    if (!replaced) ctx.log.debug(`[Client:${req.clientID}] Connected (Inbox=${req.heartbeatInbox})`);
  }

  /**
   * Closes a client as a CloseRequest does: plain subs removed, durables offline (§3.7).
   * Resolves with the store's commit error, if it failed (logged here for every caller; the
   * protocol answers the close anyway, an administrator's eviction reports it).
   */
  async close(c: Client, why: string): Promise<{ commitError?: unknown }> {
    if (c.closing) return {};
    c.closing = true;
    this.heartbeats.stop(c);
    for (const sub of [...c.subs]) this.deps.removeSub(sub, false);
    // A replacement may already have registered a new client under this ID: keep it, in
    // memory and in the store.
    if (this.byID.get(c.id) === c) {
      this.byID.delete(c.id);
      this.ctx.store.deleteClient(c.id);
    }
    if (c.connKey && this.byConn.get(c.connKey) === c) this.byConn.delete(c.connKey);
    let commitError: unknown;
    try {
      await this.ctx.store.commit();
    } catch (err) {
      commitError = err;
      this.ctx.log.error(`[Client:${c.id}] Error closing client: ${String(err)}`);
    }
    if (why !== 'replaced') this.ctx.log.debug(`[Client:${c.id}] Closed (Inbox=${c.info.HbInbox})`);
    return commitError === undefined ? {} : { commitError };
  }

  async onClose(reply: string | undefined, data: Uint8Array): Promise<void> {
    let clientID: string;
    try {
      clientID = CloseRequestCodec.decode(data).clientID;
    } catch {
      this.ctx.log.error('Received invalid close request');
      return this.ctx.reply(reply, CloseResponseCodec.encode({ error: E.ERR_INVALID_CLOSE_REQ }));
    }
    await this.deps.barrier();
    const c = this.byID.get(clientID);
    if (!c) {
      this.ctx.log.error(`[Client:${clientID}] Close request for unknown client`);
      return this.ctx.reply(reply, CloseResponseCodec.encode({ error: E.ERR_UNKNOWN_CLIENT }));
    }
    await this.close(c, 'request');
    this.ctx.reply(reply, CloseResponseCodec.encode({}));
  }

  onPing(reply: string | undefined, data: Uint8Array): void {
    if (data.length === 0) return;
    let connID: Uint8Array;
    try {
      connID = PingCodec.decode(data).connID;
    } catch {
      return;
    }
    const c = this.byConn.get(connIDKey(connID));
    if (c === undefined) {
      this.ctx.reply(reply, PingResponseCodec.encode({ error: E.ERR_CLIENT_REPLACED }));
      return;
    }
    this.ctx.reply(reply, new Uint8Array(0));
    // The client pings us, so it is alive: re-check its heartbeat soon to clear the failure.
    if (c.failedHB > 0) this.heartbeats.schedule(c, 1);
  }

  stopTimers(): void {
    for (const c of this.byID.values()) this.heartbeats.stop(c);
  }
}
