/**
 * NatsTransport over an external NATS server (`-ns nats://host:port`), using the `nats`
 * (nats.js v2) client. Loaded lazily so the embedded-server start-up path never pays for
 * importing the client library.
 */
import type { ConnectionOptions, Msg, NatsConnection, NatsError } from 'nats';
import type { Logger } from '../logging/logger';
import {
  NoRespondersError,
  RequestTimeoutError,
  type MsgHandler,
  type NatsTransport,
  type SubscribeOptions,
  type TransportSubscription,
} from './transport';

export interface ExternalConnectOptions {
  name: string;
  user?: string;
  pass?: string;
  token?: string;
}

// nats.js ErrorCode values (strings), compared directly so this module needs no runtime
// import of the enum.
const CODE_TIMEOUT = 'TIMEOUT';
const CODE_NO_RESPONDERS = '503';

function errCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

class ExternalTransport implements NatsTransport {
  constructor(
    private readonly nc: NatsConnection,
    private readonly logger: Logger,
    private readonly makeInbox: () => string,
  ) {}

  get closed(): boolean {
    return this.nc.isClosed();
  }

  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (this.nc.isClosed()) return;
    try {
      // Only build an options object when there is a reply to carry.
      if (reply === undefined) this.nc.publish(subject, data);
      else this.nc.publish(subject, data, { reply });
    } catch (err) {
      // The contract says publish never throws (e.g. closed/draining or max payload).
      this.logger.error(`nats: publish to ${subject} failed: ${(err as Error).message}`);
    }
  }

  subscribe(subject: string, handler: MsgHandler, opts?: SubscribeOptions): TransportSubscription {
    const logger = this.logger;
    return this.nc.subscribe(subject, {
      queue: opts?.queue,
      callback: (err: NatsError | null, msg: Msg) => {
        if (err !== null) {
          logger.error(`nats: subscription on ${subject}: ${err.message}`);
          return;
        }
        // nats.js reports "no reply" as an empty string.
        handler(msg.subject, msg.reply === '' || msg.reply === undefined ? undefined : msg.reply, msg.data);
      },
    });
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      const m = await this.nc.request(subject, data, { timeout: timeoutMs });
      return m.data;
    } catch (err) {
      const code = errCode(err);
      if (code === CODE_TIMEOUT) throw new RequestTimeoutError(subject);
      if (code === CODE_NO_RESPONDERS) throw new NoRespondersError(subject);
      throw err;
    }
  }

  newInbox(): string {
    return this.makeInbox();
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.close();
  }

  onServersAdded(handler: () => void): TransportSubscription {
    // Each status() call is an independent listener, ended by stop().
    const it = this.nc.status();
    let stopped = false;
    void (async () => {
      try {
        for await (const s of it) {
          if (stopped) break;
          if (s.type !== 'update' || typeof s.data !== 'object' || s.data === null) continue;
          if ('added' in s.data && s.data.added.length > 0) handler();
        }
      } catch {
        // the connection closed: nothing more to watch
      }
    })();
    return {
      unsubscribe: () => {
        stopped = true;
        (it as { stop?: () => void }).stop?.();
      },
    };
  }
}

export async function connectExternal(urls: string[], opts: ExternalConnectOptions, logger: Logger): Promise<NatsTransport> {
  const nats = await import('nats');
  const co: ConnectionOptions = {
    servers: urls,
    name: opts.name,
    // As the reference: reconnect forever, every 250 ms (no first-connect retry: a start-up
    // without a reachable NATS server fails).
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  };
  if (opts.user !== undefined && opts.user !== '') {
    co.user = opts.user;
    co.pass = opts.pass ?? '';
  }
  if (opts.token !== undefined && opts.token !== '') co.token = opts.token;
  const nc = await nats.connect(co);
  void watchStatus(nc, logger);
  return new ExternalTransport(nc, logger, () => nats.createInbox());
}

/** Logs connection state changes (the STAN core keeps working across reconnects). */
async function watchStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  try {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          logger.warn(`nats: disconnected from ${String(s.data)}`);
          break;
        case 'reconnect':
          logger.notice(`nats: reconnected to ${String(s.data)}`);
          break;
        case 'error':
          logger.error(`nats: async error: ${String(s.data)}`);
          break;
        default:
          if (logger.isDebug) logger.debug(`nats: status ${s.type} ${String(s.data)}`);
      }
    }
  } catch (err) {
    logger.error(`nats: status watcher stopped: ${(err as Error).message}`);
  }
}
