/**
 * The admin API's endpoints: method, path template, whether it changes state, and how a
 * request becomes a typed call of {@link AdminOperations}. An endpoint is served only when
 * its operation exists (see {@link availableEndpoints}).
 */
import { badParameter } from './errors';
import type { AdminOperations, AdminWriteOperations, PayloadEncoding } from './operations';
import {
  bodySeq,
  bodyString,
  bodyTime,
  onlyKnownKeys,
  onlyKnownQuery,
  parseIntText,
  pathSegment,
  queryEnum,
  queryInt,
  type JsonObject,
} from './params';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export const MESSAGES_DEFAULT_LIMIT = 100;
export const MESSAGES_MAX_LIMIT = 1000;
export const CLIENTS_DEFAULT_LIMIT = 1024;
const ENCODINGS: readonly PayloadEncoding[] = ['base64', 'utf8'];

export interface AdminRequest {
  /** Raw (still percent-encoded) path parameters by template name. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  body: JsonObject;
}

export interface Endpoint {
  /** Operation ID in openapi.json, and the AdminOperations method. */
  id: keyof AdminOperations;
  method: HttpMethod;
  /** Path under /admin/v1, with `{param}` segments. */
  path: string;
  mutating: boolean;
  /** Validates the request and calls the operation. */
  call(ops: AdminOperations, req: AdminRequest): Promise<unknown>;
}

function need<K extends keyof AdminWriteOperations>(ops: AdminOperations, k: K): AdminWriteOperations[K] {
  const f = ops[k];
  if (f === undefined) throw new Error(`admin operation ${k} is not implemented`);
  return f.bind(ops) as AdminWriteOperations[K];
}

export const ENDPOINTS: readonly Endpoint[] = [
  {
    id: 'listClients',
    method: 'GET',
    path: '/clients',
    mutating: false,
    call: async (ops, r) => {
      onlyKnownQuery(r.query, ['offset', 'limit']);
      const offset = queryInt(r.query, 'offset', { min: 0 }) ?? 0;
      const limit = queryInt(r.query, 'limit', { min: 1 }) ?? CLIENTS_DEFAULT_LIMIT;
      return ops.listClients({ offset, limit });
    },
  },
  {
    id: 'evictClient',
    method: 'DELETE',
    path: '/clients/{id}',
    mutating: true,
    call: (ops, r) => {
      onlyKnownQuery(r.query, []);
      return need(ops, 'evictClient')({ clientID: pathSegment('id', r.params['id'] ?? '') });
    },
  },
  {
    id: 'listMessages',
    method: 'GET',
    path: '/channels/{name}/messages',
    mutating: false,
    call: (ops, r) => {
      onlyKnownQuery(r.query, ['from_seq', 'limit', 'encoding']);
      return ops.listMessages({
        channel: pathSegment('name', r.params['name'] ?? ''),
        fromSeq: queryInt(r.query, 'from_seq', { min: 1 }),
        limit: queryInt(r.query, 'limit', { min: 1, max: MESSAGES_MAX_LIMIT }) ?? MESSAGES_DEFAULT_LIMIT,
        encoding: queryEnum(r.query, 'encoding', ENCODINGS) ?? 'base64',
      });
    },
  },
  {
    id: 'purgeChannel',
    method: 'POST',
    path: '/channels/{name}/purge',
    mutating: true,
    call: (ops, r) => {
      onlyKnownQuery(r.query, []);
      onlyKnownKeys(r.body, ['before_seq', 'before_time']);
      const channel = pathSegment('name', r.params['name'] ?? '');
      const beforeSeq = bodySeq(r.body, 'before_seq');
      const beforeTime = bodyTime(r.body, 'before_time');
      const purge = need(ops, 'purgeChannel');
      if (beforeSeq !== undefined && beforeTime !== undefined) {
        throw badParameter('before_time', 'give before_seq or before_time, not both');
      }
      if (beforeSeq !== undefined) return purge({ channel, kind: 'before_seq', beforeSeq });
      if (beforeTime !== undefined) return purge({ channel, kind: 'before_time', beforeTime });
      return purge({ channel, kind: 'all' });
    },
  },
  {
    id: 'deleteChannel',
    method: 'DELETE',
    path: '/channels/{name}',
    mutating: true,
    call: (ops, r) => {
      onlyKnownQuery(r.query, []);
      return need(ops, 'deleteChannel')({ channel: pathSegment('name', r.params['name'] ?? '') });
    },
  },
  {
    id: 'resetDurable',
    method: 'POST',
    path: '/channels/{name}/durables/reset',
    mutating: true,
    call: (ops, r) => {
      onlyKnownQuery(r.query, []);
      onlyKnownKeys(r.body, ['client_id', 'durable', 'queue', 'seq', 'time']);
      const channel = pathSegment('name', r.params['name'] ?? '');
      const clientID = bodyString(r.body, 'client_id', true);
      const durable = bodyString(r.body, 'durable', true);
      const queue = bodyString(r.body, 'queue', false);
      const seq = bodySeq(r.body, 'seq');
      const time = bodyTime(r.body, 'time');
      const reset = need(ops, 'resetDurable');
      if (seq !== undefined && time !== undefined) throw badParameter('time', 'give seq or time, not both');
      if (seq !== undefined) return reset({ channel, clientID, durable, queue, seq });
      if (time !== undefined) return reset({ channel, clientID, durable, queue, time });
      throw badParameter('seq', 'required: give seq (an integer >= 1) or time (RFC 3339)');
    },
  },
  {
    id: 'requeueMessage',
    method: 'POST',
    path: '/channels/{name}/messages/{seq}/requeue',
    mutating: true,
    call: (ops, r) => {
      onlyKnownQuery(r.query, []);
      onlyKnownKeys(r.body, []);
      const channel = pathSegment('name', r.params['name'] ?? '');
      const seq = parseIntText('seq', r.params['seq'] ?? '', { min: 1 });
      return need(ops, 'requeueMessage')({ channel, seq });
    },
  },
];

/** The endpoints `ops` implements. */
export function availableEndpoints(ops: AdminOperations, all: readonly Endpoint[] = ENDPOINTS): Endpoint[] {
  return all.filter((e) => typeof ops[e.id] === 'function');
}

export interface RouteMatch {
  endpoint: Endpoint;
  params: Record<string, string>;
}

/**
 * Matches `path` (below /admin/v1, raw) against the endpoints. Returns the match, or the
 * methods the path allows when only the method is wrong (405), or undefined (404).
 */
export function matchRoute(endpoints: readonly Endpoint[], method: string, path: string): RouteMatch | { allow: HttpMethod[] } | undefined {
  const segs = path.split('/').slice(1);
  const allow: HttpMethod[] = [];
  for (const e of endpoints) {
    const tpl = e.path.split('/').slice(1);
    if (tpl.length !== segs.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < tpl.length && ok; i++) {
      const t = tpl[i] ?? '';
      const s = segs[i] ?? '';
      if (t.startsWith('{') && t.endsWith('}')) params[t.slice(1, -1)] = s;
      else ok = t === s;
    }
    if (!ok) continue;
    if (e.method === method) return { endpoint: e, params };
    allow.push(e.method);
  }
  return allow.length > 0 ? { allow } : undefined;
}
