/**
 * The admin API's OpenAPI 3.0 document, written by hand as typed objects and filtered to the
 * endpoints this server serves: the console reads it to know which actions to offer.
 */
import type { Endpoint } from './endpoints';
import { CLIENTS_DEFAULT_LIMIT, MESSAGES_DEFAULT_LIMIT, MESSAGES_MAX_LIMIT } from './endpoints';

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  format?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: number | string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  required?: string[];
  items?: Schema;
  $ref?: string;
  nullable?: boolean;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description: string;
  schema: Schema;
}

export interface MediaContent {
  'application/json': { schema: Schema };
}

export interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  parameters: Parameter[];
  requestBody?: { required: boolean; content: MediaContent };
  responses: Record<string, { description: string; content?: MediaContent }>;
}

export interface OpenApiDocument {
  openapi: '3.0.3';
  info: { title: string; version: string; description: string };
  servers: Array<{ url: string }>;
  components: {
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer' }>;
    schemas: Record<string, Schema>;
  };
  security: Array<Record<string, string[]>>;
  paths: Record<string, Partial<Record<'get' | 'post' | 'delete', Operation>>>;
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema): MediaContent => ({ 'application/json': { schema } });
const int = (description: string, minimum = 0): Schema => ({ type: 'integer', minimum, description });
const str = (description: string): Schema => ({ type: 'string', description });

const SCHEMAS: Record<string, Schema> = {
  Error: {
    type: 'object',
    required: ['code', 'message'],
    properties: {
      code: {
        type: 'string',
        enum: [
          'unauthorized',
          'forbidden',
          'admin_disabled',
          'bad_parameter',
          'not_found',
          'method_not_allowed',
          'channel_not_found',
          'client_not_found',
          'durable_not_found',
          'message_not_found',
          'channel_has_subscriptions',
          'not_dead_letter',
          'not_stored',
          'not_supported',
          'not_active',
          'internal',
        ],
      },
      message: str('What went wrong and what to do.'),
      parameter: str('The rejected parameter (bad_parameter).'),
      active_server: {
        type: 'string',
        nullable: true,
        description:
          'not_active: the lease holder that takes mutating calls (FT: its server ID, as /streaming/serverz server_id; clustered mode: the leader\'s node ID); null when nobody holds the lease; absent when it could not be read.',
      },
      ft_group: str('not_active: the FT group (clustered mode: the cluster ID) whose active server takes mutating calls.'),
    },
  },
  Subscription: {
    type: 'object',
    properties: {
      client_id: str(''), inbox: str(''), ack_inbox: str(''), durable_name: str(''), queue_name: str(''),
      is_durable: { type: 'boolean' }, is_offline: { type: 'boolean' }, max_inflight: int(''), ack_wait: int('seconds'),
      last_sent: int(''), pending_count: int(''), is_stalled: { type: 'boolean' },
    },
  },
  Client: {
    type: 'object',
    required: ['id', 'hb_inbox', 'subs_count', 'subscriptions'],
    properties: {
      id: str('Client ID.'),
      hb_inbox: str('Heartbeat inbox.'),
      subs_count: int('Number of subscriptions.'),
      subscriptions: { type: 'object', description: 'By channel name.', additionalProperties: { type: 'array', items: ref('Subscription') } },
    },
  },
  ClientList: {
    type: 'object',
    required: ['offset', 'limit', 'count', 'total', 'clients'],
    properties: { offset: int(''), limit: int(''), count: int(''), total: int(''), clients: { type: 'array', items: ref('Client') } },
  },
  Message: {
    type: 'object',
    required: ['seq', 'timestamp', 'subject', 'reply', 'size', 'encoding', 'data'],
    properties: {
      seq: int('Sequence in the channel.', 1),
      timestamp: { type: 'string', format: 'date-time' },
      subject: str(''),
      reply: str(''),
      size: int('Payload bytes.'),
      encoding: { type: 'string', enum: ['base64', 'utf8'], description: 'base64 when utf8 was asked but the payload is not valid UTF-8.' },
      data: str('The payload in `encoding`.'),
    },
  },
  MessageList: {
    type: 'object',
    required: ['channel', 'first_seq', 'last_seq', 'count', 'next_seq', 'messages'],
    properties: {
      channel: str(''), first_seq: int(''), last_seq: int(''), count: int(''),
      next_seq: int('from_seq of the next page; 0 at the end.'),
      messages: { type: 'array', items: ref('Message') },
    },
  },
  Result: { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' } }, additionalProperties: true },
};

const ERRORS: Operation['responses'] = {
  '400': { description: 'Bad parameter (code bad_parameter, parameter names it).', content: json(ref('Error')) },
  '401': { description: 'No credentials (WWW-Authenticate: Bearer).', content: json(ref('Error')) },
  '403': { description: 'Wrong token, or the admin API is disabled (admin_disabled).', content: json(ref('Error')) },
};
/**
 * The errors of every mutating call; its 503 names both causes: not the active server, or
 * `notStored` (what was changed in memory when the store's commit failed), then `more`.
 */
function mutatingErrors(notStored: string, more = ''): Operation['responses'] {
  return {
    ...ERRORS,
    '503': {
      description: `Not the active server (not_active): send it to active_server (null: nobody holds the lease, retry). Or the store's commit failed (not_stored): ${notStored} on this server and the store may still record it once it works again; check (after a restart or a failover too) before retrying.${more}`,
      content: json(ref('Error')),
    },
  };
}
const channelParam: Parameter = { name: 'name', in: 'path', required: true, description: 'Channel name.', schema: { type: 'string' } };

/** One hand-written operation per endpoint ID. */
const OPERATIONS: Record<Endpoint['id'], Operation> = {
  listClients: {
    operationId: 'listClients',
    summary: 'Clients with their subscriptions (as /streaming/clientsz?subs=1).',
    tags: ['clients'],
    parameters: [
      { name: 'offset', in: 'query', required: false, description: 'Skip this many clients (sorted by ID).', schema: { type: 'integer', minimum: 0, default: 0 } },
      { name: 'limit', in: 'query', required: false, description: 'At most this many clients.', schema: { type: 'integer', minimum: 1, default: CLIENTS_DEFAULT_LIMIT } },
    ],
    responses: { '200': { description: 'Clients.', content: json(ref('ClientList')) }, ...ERRORS },
  },
  evictClient: {
    operationId: 'evictClient',
    summary: 'Evict a client: its subscriptions end as on a close.',
    tags: ['clients'],
    parameters: [{ name: 'id', in: 'path', required: true, description: 'Client ID.', schema: { type: 'string' } }],
    responses: {
      '200': { description: 'Evicted.', content: json(ref('Result')) },
      '404': { description: 'No such client (client_not_found).', content: json(ref('Error')) },
      ...mutatingErrors('the client was evicted'),
    },
  },
  listMessages: {
    operationId: 'listMessages',
    summary: 'Stored messages of a channel, oldest first.',
    tags: ['channels'],
    parameters: [
      channelParam,
      { name: 'from_seq', in: 'query', required: false, description: "First sequence (default: the channel's first).", schema: { type: 'integer', minimum: 1 } },
      { name: 'limit', in: 'query', required: false, description: 'At most this many messages.', schema: { type: 'integer', minimum: 1, maximum: MESSAGES_MAX_LIMIT, default: MESSAGES_DEFAULT_LIMIT } },
      { name: 'encoding', in: 'query', required: false, description: 'Payload encoding.', schema: { type: 'string', enum: ['base64', 'utf8'], default: 'base64' } },
    ],
    responses: {
      '200': { description: 'A page of messages.', content: json(ref('MessageList')) },
      '404': { description: 'No such channel (channel_not_found).', content: json(ref('Error')) },
      ...ERRORS,
    },
  },
  purgeChannel: {
    operationId: 'purgeChannel',
    summary: 'Drop messages: all ({}), before a sequence or before a time; the channel keeps its last sequence.',
    tags: ['channels'],
    parameters: [channelParam],
    requestBody: {
      required: false,
      content: json({ type: 'object', properties: { before_seq: int('', 1), before_time: { type: 'string', format: 'date-time' } } }),
    },
    responses: {
      '200': { description: 'Purged.', content: json(ref('Result')) },
      '404': { description: 'No such channel.', content: json(ref('Error')) },
      ...mutatingErrors('the messages were purged (purging again is not idempotent: look at the first sequence)'),
    },
  },
  deleteChannel: {
    operationId: 'deleteChannel',
    summary: 'Delete a channel without subscriptions.',
    tags: ['channels'],
    parameters: [channelParam],
    responses: {
      '200': { description: 'Deleted.', content: json(ref('Result')) },
      '404': { description: 'No such channel.', content: json(ref('Error')) },
      '409': { description: 'The channel has subscriptions.', content: json(ref('Error')) },
      ...mutatingErrors('the channel was deleted'),
    },
  },
  resetDurable: {
    operationId: 'resetDurable',
    summary: 'Move a durable (or durable queue group) to a sequence or time.',
    tags: ['channels'],
    parameters: [channelParam],
    requestBody: {
      required: true,
      content: json({
        type: 'object',
        required: ['client_id', 'durable'],
        properties: { client_id: str(''), durable: str(''), queue: str(''), seq: int('', 1), time: { type: 'string', format: 'date-time' } },
      }),
    },
    responses: {
      '200': { description: 'Reset.', content: json(ref('Result')) },
      '404': { description: 'No such durable.', content: json(ref('Error')) },
      ...mutatingErrors('the durable was moved'),
    },
  },
  requeueMessage: {
    operationId: 'requeueMessage',
    summary: 'Republish a dead-lettered message to its original channel (new sequence).',
    tags: ['dead letters'],
    parameters: [channelParam, { name: 'seq', in: 'path', required: true, description: 'Sequence in the dead-letter channel.', schema: { type: 'integer', minimum: 1 } }],
    responses: {
      '200': { description: 'Requeued.', content: json(ref('Result')) },
      '404': { description: 'No such channel or message (channel_not_found, message_not_found).', content: json(ref('Error')) },
      '409': { description: 'The message is not a dead-letter envelope (not_dead_letter).', content: json(ref('Error')) },
      ...mutatingErrors('the message was republished', ' Also not_stored when the store refused the republished message (the server log says why): it is not stored.'),
    },
  },
};

/** The document for the endpoints served; `version` is the server's. */
export function openApiDocument(endpoints: readonly Endpoint[], version: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const e of endpoints) {
    const entry = (paths[e.path] ??= {});
    entry[e.method === 'GET' ? 'get' : e.method === 'POST' ? 'post' : 'delete'] = OPERATIONS[e.id];
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'NATS Streaming server admin API',
      version,
      description: 'Administration of a NATS Streaming server, on its monitoring port. Errors are JSON {code, message}.',
    },
    servers: [{ url: '/admin/v1' }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: SCHEMAS },
    security: [{ bearer: [] }],
    paths,
  };
}
