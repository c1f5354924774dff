/**
 * What the admin API does, independent of HTTP: one method per endpoint, typed inputs and
 * outputs. The HTTP layer (./router.ts) validates requests into these inputs and serves
 * only the endpoints whose method an implementation provides, so an endpoint appears
 * (routes and openapi.json) exactly when the server can do it.
 */

import type { Subscriptionz } from '../streaming';

/** A subscription exactly as /streaming/clientsz reports it. */
export type AdminSubscription = Subscriptionz;

export interface AdminClient {
  id: string;
  hb_inbox: string;
  subs_count: number;
  /** Subscriptions by channel name. */
  subscriptions: Record<string, AdminSubscription[]>;
}

export interface ListClientsInput {
  offset: number;
  limit: number;
}

export interface ListClientsOutput {
  offset: number;
  limit: number;
  count: number;
  total: number;
  clients: AdminClient[];
}

export type PayloadEncoding = 'base64' | 'utf8';

export interface ListMessagesInput {
  channel: string;
  /** First sequence wanted; undefined = the channel's first stored message. */
  fromSeq: number | undefined;
  limit: number;
  encoding: PayloadEncoding;
}

export interface AdminMessage {
  seq: number;
  /** RFC 3339 with nanoseconds, UTC. */
  timestamp: string;
  subject: string;
  reply: string;
  size: number;
  /** How `data` is written: as asked, except `base64` for a payload that is not valid UTF-8. */
  encoding: PayloadEncoding;
  data: string;
}

export interface ListMessagesOutput {
  channel: string;
  first_seq: number;
  last_seq: number;
  count: number;
  /** Sequence to pass as from_seq for the next page; 0 when this page reached last_seq. */
  next_seq: number;
  messages: AdminMessage[];
}

export interface EvictClientInput {
  clientID: string;
}

export type PurgeInput =
  | { channel: string; kind: 'all' }
  | { channel: string; kind: 'before_seq'; beforeSeq: number }
  | { channel: string; kind: 'before_time'; beforeTime: Date };

export interface DeleteChannelInput {
  channel: string;
}

export type DurableResetInput = {
  channel: string;
  clientID: string;
  durable: string;
  queue: string | undefined;
} & ({ seq: number; time?: undefined } | { time: Date; seq?: undefined });

export interface RequeueInput {
  channel: string;
  seq: number;
}

/** Outcome of a mutating call (the server's answer, as JSON). */
export interface MutationOutput {
  ok: true;
  [detail: string]: unknown;
}

export interface AdminReadOperations {
  listClients(input: ListClientsInput): ListClientsOutput | Promise<ListClientsOutput>;
  listMessages(input: ListMessagesInput): Promise<ListMessagesOutput>;
}

/** Need changes in the STAN core (events in the log): provided once the core supports them. */
export interface AdminWriteOperations {
  evictClient(input: EvictClientInput): Promise<MutationOutput>;
  purgeChannel(input: PurgeInput): Promise<MutationOutput>;
  deleteChannel(input: DeleteChannelInput): Promise<MutationOutput>;
  resetDurable(input: DurableResetInput): Promise<MutationOutput>;
  requeueMessage(input: RequeueInput): Promise<MutationOutput>;
}

export type AdminOperations = AdminReadOperations & Partial<AdminWriteOperations>;

/** Whether this server may take mutating calls now, and who does otherwise. */
export interface AdminRole {
  active: boolean;
  /**
   * The active server as the lease names it (FT: its server ID; clustered mode: the leader's
   * node ID); null when nobody holds the lease; absent when it is not known.
   */
  activeServer?: string | null;
  /** The lease is this server's own: it won the election and recovers before it serves. */
  takingOver?: boolean;
  /** The FT group this server belongs to (clustered mode: the cluster ID). */
  group?: string;
  /** Clustered mode: `group` is the cluster and the active server its leader. */
  clustered?: boolean;
}
