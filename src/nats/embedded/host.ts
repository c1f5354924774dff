/**
 * What a client connection and the options reload need from the embedded server that owns
 * them. EmbeddedNatsServer implements these interfaces; client.ts and reload.ts depend on
 * them instead of on server.ts, which imports both (so no import cycle).
 */
import type { NatsServerOptions } from '../../config/options';
import type { Logger } from '../../logging/logger';
import type { Authenticator } from './auth';
import type { Sublist } from './sublist';
import type { NatsSubscription, SubOwner } from './subscription';

/** One connection as monitoring (/connz) shows it, open or closed. */
export interface ConnectionStats {
  cid: number;
  kind: 'client' | 'inprocess';
  ip: string;
  port: number;
  start: Date;
  lastActivity: Date;
  /** Set on closed connections only. */
  stop?: Date;
  reason?: string;
  name: string;
  lang: string;
  version: string;
  subscriptions: number;
  subscriptionsList: { subject: string; queue?: string; sid: string; msgs: number; max: number }[];
  pendingBytes: number;
  inMsgs: number;
  outMsgs: number;
  inBytes: number;
  outBytes: number;
  /** TLS connections only: "1.3" and the IANA cipher suite name (/connz). */
  tlsVersion?: string;
  tlsCipher?: string;
}

/** One subscription as /connz?subs=detail lists it (socket and in-process connections alike). */
export function subscriptionEntry(s: NatsSubscription): ConnectionStats['subscriptionsList'][number] {
  return { subject: s.subject, ...(s.queue !== undefined ? { queue: s.queue } : {}), sid: s.sid, msgs: s.delivered, max: s.max };
}

/** The server as a client connection sees it. */
export interface ConnectionHost {
  readonly logger: Logger;
  readonly options: Readonly<NatsServerOptions>;
  readonly auth: Authenticator;
  readonly sublist: Sublist<NatsSubscription>;
  /** The INFO line for a new connection. */
  infoFor(cid: number, ip: string): Buffer;
  /** Routes one publish; returns how many subscriptions received it. */
  route(pub: SubOwner, subject: string, reply: string | undefined, hdrLen: number, buf: Uint8Array, start: number, end: number): number;
  /** Called once when the connection `cid` has closed, with its final statistics. */
  clientClosed(cid: number, snap: ConnectionStats): void;
  noteSlowConsumer(): void;
  noteStaleConnection(): void;
}

/** The server as the options reload changes it. */
export interface ReloadTarget {
  readonly logger: Logger;
  options: Readonly<NatsServerOptions>;
  auth: Authenticator;
  /** Rebuilds the INFO sent to new clients after the options changed. */
  rebuildInfo(): void;
}
