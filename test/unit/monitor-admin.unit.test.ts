/**
 * The admin API's HTTP layer without the STAN core: authentication outcomes, routing,
 * parameter errors (400 naming the parameter), the FT-standby refusal of mutating calls,
 * the access log, and the OpenAPI document's shape. Requests are in-memory objects.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdminHandler, type AdminHandlerDeps } from '../../src/monitor/admin/handler';
import { resolveAdminToken, type AdminAuthConfig } from '../../src/monitor/admin/auth';
import { ENDPOINTS, availableEndpoints } from '../../src/monitor/admin/endpoints';
import { openApiDocument, type Schema } from '../../src/monitor/admin/openapi';
import { adminMessage } from '../../src/monitor/admin/context-ops';
import { MsgProtoCodec } from '../../src/protocol/codec';
import type { AdminOperations, AdminWriteOperations, ListMessagesInput, MutationOutput } from '../../src/monitor/admin/operations';
import { silentLogger, type Logger } from '../../src/logging/logger';
import { adminRole } from '../../src/monitor/admin/role';
import { ActiveServerSource } from '../../src/ft/active-server';
import { defaultServerOptions, type ServerOptions } from '../../src/config/options';
import type { StreamingMonitorSource } from '../../src/monitor/streaming';
import type { ServerState } from '../../src/stan/core';

const TOKEN = 's3cret-token';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: { code?: string; message?: string; parameter?: string; active_server?: string | null; [k: string]: unknown };
}

interface FakeReq {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  socket?: object;
}

/** Sends one request through the handler and resolves with its answer. */
function call(deps: AdminHandlerDeps, path: string, r: FakeReq = {}): Promise<Answer> {
  const handler = createAdminHandler(deps);
  const req = Readable.from(r.body === undefined ? [] : [Buffer.from(r.body)]) as unknown as IncomingMessage;
  Object.assign(req, { method: r.method ?? 'GET', headers: r.headers ?? {}, socket: r.socket ?? {} });
  return new Promise((resolve) => {
    let status = 0;
    let headers: Record<string, string> = {};
    const res = {
      writeHead(s: number, h: Record<string, string>) {
        status = s;
        headers = h;
        return res;
      },
      end(text: string) {
        resolve({ status, headers, body: JSON.parse(text) as Answer['body'] });
      },
    };
    handler(req, res as unknown as ServerResponse, new URL(path, 'http://localhost'));
  });
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

class RecordingOps implements AdminOperations {
  readonly calls: unknown[] = [];
  listClients(input: { offset: number; limit: number }) {
    this.calls.push(input);
    return { ...input, count: 0, total: 0, clients: [] };
  }
  async listMessages(input: ListMessagesInput) {
    this.calls.push(input);
    return { channel: input.channel, first_seq: 0, last_seq: 0, count: 0, next_seq: 0, messages: [] };
  }
}

/** Every operation, mutating ones included, recording its input. */
class FullOps extends RecordingOps implements AdminWriteOperations {
  private rec = async (x: unknown): Promise<MutationOutput> => {
    this.calls.push(x);
    return { ok: true };
  };
  evictClient = this.rec;
  purgeChannel = this.rec;
  deleteChannel = this.rec;
  resetDurable = this.rec;
  requeueMessage = this.rec;
}

function deps(over: Omit<Partial<AdminHandlerDeps>, 'auth'> & { auth?: Partial<AdminAuthConfig>; role?: AdminHandlerDeps['role'] } = {}): AdminHandlerDeps {
  return {
    ops: over.ops ?? new RecordingOps(),
    role: over.role ?? (() => ({ active: true })),
    log: over.log ?? silentLogger,
    version: '0.25.6',
    auth: { token: TOKEN, clientCertificates: false, ...over.auth },
  };
}

describe('admin API: authentication', () => {
  test('nothing configured: 403 admin_disabled, even with a token', async () => {
    const d = deps({ auth: { token: '' } });
    for (const h of [{}, bearer('x')]) {
      const a = await call(d, '/admin/v1/clients', { headers: h });
      assert.equal(a.status, 403);
      assert.equal(a.body.code, 'admin_disabled');
      assert.match(a.body.message ?? '', /admin_token_file/);
    }
  });

  test('no token: 401 with WWW-Authenticate: Bearer, JSON body', async () => {
    const a = await call(deps(), '/admin/v1/clients');
    assert.equal(a.status, 401);
    assert.match(a.headers['WWW-Authenticate'] ?? '', /^Bearer\b/);
    assert.equal(a.headers['Content-Type'], 'application/json');
    assert.equal(a.body.code, 'unauthorized');
  });

  test('not a bearer header: 401; wrong token: 403 forbidden; right token: 200', async () => {
    assert.equal((await call(deps(), '/admin/v1/clients', { headers: { authorization: `Basic ${TOKEN}` } })).status, 401);
    const wrong = await call(deps(), '/admin/v1/clients', { headers: bearer('nope') });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.code, 'forbidden');
    assert.equal((await call(deps(), '/admin/v1/clients', { headers: bearer(TOKEN) })).status, 200);
  });

  test('unknown paths need credentials too (401 before 404)', async () => {
    assert.equal((await call(deps(), '/admin/v1/nothing')).status, 401);
    const a = await call(deps(), '/admin/v1/nothing', { headers: bearer(TOKEN) });
    assert.equal(a.status, 404);
    assert.equal(a.body.code, 'not_found');
  });

  test('a verified client certificate is enough when certificates are configured', async () => {
    const verified = { encrypted: true, authorized: true, getPeerCertificate: () => ({ subject: { CN: 'ops' } }) };
    const unverified = { ...verified, authorized: false };
    const d = deps({ auth: { token: '', clientCertificates: true } });
    assert.equal((await call(d, '/admin/v1/clients', { socket: verified })).status, 200);
    assert.equal((await call(d, '/admin/v1/clients', { socket: unverified })).status, 401);
    // Certificates not configured: the same verified socket does not get in.
    assert.equal((await call(deps(), '/admin/v1/clients', { socket: verified })).status, 401);
  });

  test('every call is logged with method, path and outcome, never the token', async () => {
    const lines: string[] = [];
    const log: Logger = { ...silentLogger, notice: (m) => lines.push(m) };
    await call(deps({ log }), '/admin/v1/clients', { headers: bearer(TOKEN) });
    await call(deps({ log }), '/admin/v1/clients?limit=x', { headers: bearer(TOKEN) });
    await call(deps({ log }), '/admin/v1/clients', { headers: bearer('wrong-one') });
    assert.deepEqual(lines, [
      'admin: GET /admin/v1/clients -> 200 (token)',
      'admin: GET /admin/v1/clients -> 400 bad_parameter (token)',
      'admin: GET /admin/v1/clients -> 403 forbidden (unauthenticated)',
    ]);
    assert.ok(lines.every((l) => !l.includes(TOKEN) && !l.includes('wrong-one')));
  });
});

describe('admin API: token resolution', () => {
  const files: Record<string, string> = { '/t': '  abc\n', '/empty': '\n' };
  const read = ((p: string) => {
    const v = files[p];
    if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return v;
  }) as unknown as typeof import('node:fs').readFileSync;

  test('inline token wins, the file is trimmed, problems name the file', () => {
    assert.equal(resolveAdminToken({ adminToken: 'x', adminTokenFile: '/t' }, read), 'x');
    assert.equal(resolveAdminToken({ adminToken: '', adminTokenFile: '/t' }, read), 'abc');
    assert.equal(resolveAdminToken({ adminToken: '', adminTokenFile: '' }, read), '');
    assert.throws(() => resolveAdminToken({ adminToken: '', adminTokenFile: '/missing' }, read), /"\/missing".*ENOENT/);
    assert.throws(() => resolveAdminToken({ adminToken: '', adminTokenFile: '/empty' }, read), /"\/empty" is empty/);
  });
});

describe('admin API: parameters', () => {
  const bad: Array<[string, string]> = [
    ['/admin/v1/clients?limit=0', 'limit'],
    ['/admin/v1/clients?offset=-1', 'offset'],
    ['/admin/v1/clients?limt=5', 'limt'],
    ['/admin/v1/channels/foo/messages?limit=1001', 'limit'],
    ['/admin/v1/channels/foo/messages?limit=abc', 'limit'],
    ['/admin/v1/channels/foo/messages?from_seq=0', 'from_seq'],
    ['/admin/v1/channels/foo/messages?encoding=hex', 'encoding'],
    ['/admin/v1/channels/%E0%A4%A/messages', 'name'],
  ];
  for (const [path, parameter] of bad) {
    test(`${path}: 400 naming ${parameter}`, async () => {
      const a = await call(deps(), path, { headers: bearer(TOKEN) });
      assert.equal(a.status, 400);
      assert.equal(a.body.code, 'bad_parameter');
      assert.equal(a.body.parameter, parameter);
      assert.ok((a.body.message ?? '').startsWith(`${parameter}: `));
    });
  }

  test('messages: defaults (limit 100, base64) and decoded channel name', async () => {
    const ops = new RecordingOps();
    await call(deps({ ops }), '/admin/v1/channels/a%2Fb.c/messages', { headers: bearer(TOKEN) });
    await call(deps({ ops }), '/admin/v1/channels/foo/messages?from_seq=7&limit=1000&encoding=utf8', { headers: bearer(TOKEN) });
    assert.deepEqual(ops.calls, [
      { channel: 'a/b.c', fromSeq: undefined, limit: 100, encoding: 'base64' },
      { channel: 'foo', fromSeq: 7, limit: 1000, encoding: 'utf8' },
    ]);
  });

  test('wrong method: 405 with Allow', async () => {
    const a = await call(deps(), '/admin/v1/clients', { method: 'POST', headers: bearer(TOKEN) });
    assert.equal(a.status, 405);
    assert.equal(a.headers['Allow'], 'GET');
    assert.equal(a.body.code, 'method_not_allowed');
  });
});

describe('admin API: mutating endpoints', () => {
  test('not served while the operations do not exist', async () => {
    for (const [method, path] of [
      ['DELETE', '/admin/v1/clients/c1'],
      ['POST', '/admin/v1/channels/foo/purge'],
      ['DELETE', '/admin/v1/channels/foo'],
      ['POST', '/admin/v1/channels/foo/durables/reset'],
      ['POST', '/admin/v1/channels/dlq/messages/3/requeue'],
    ] as const) {
      const a = await call(deps(), path, { method, headers: bearer(TOKEN), body: '{}' });
      assert.ok(a.status === 404 || a.status === 405, `${method} ${path}: ${a.status}`);
    }
  });

  const bad: Array<[string, string, string, string]> = [
    ['POST', '/admin/v1/channels/foo/purge', '{"before_seq":0}', 'before_seq'],
    ['POST', '/admin/v1/channels/foo/purge', '{"before_time":"yesterday"}', 'before_time'],
    ['POST', '/admin/v1/channels/foo/purge', '{"before_seq":3,"before_time":"2026-01-01T00:00:00Z"}', 'before_time'],
    ['POST', '/admin/v1/channels/foo/purge', '{"before":3}', 'before'],
    ['POST', '/admin/v1/channels/foo/purge', '[1]', 'body'],
    ['POST', '/admin/v1/channels/foo/purge', '{oops', 'body'],
    ['POST', '/admin/v1/channels/foo/durables/reset', '{"durable":"d","seq":1}', 'client_id'],
    ['POST', '/admin/v1/channels/foo/durables/reset', '{"client_id":"c","seq":1}', 'durable'],
    ['POST', '/admin/v1/channels/foo/durables/reset', '{"client_id":"c","durable":"d"}', 'seq'],
    ['POST', '/admin/v1/channels/foo/durables/reset', '{"client_id":"c","durable":"d","queue":5,"seq":1}', 'queue'],
    ['POST', '/admin/v1/channels/dlq/messages/x/requeue', '{}', 'seq'],
  ];
  for (const [method, path, body, parameter] of bad) {
    test(`${method} ${path} ${body}: 400 naming ${parameter}`, async () => {
      const ops = new FullOps();
      const a = await call(deps({ ops }), path, { method, headers: bearer(TOKEN), body });
      assert.equal(a.status, 400, JSON.stringify(a.body));
      assert.equal(a.body.parameter, parameter);
      assert.deepEqual(ops.calls, []);
    });
  }

  test('valid calls reach the operations with typed inputs', async () => {
    const ops = new FullOps();
    const d = deps({ ops });
    const h = bearer(TOKEN);
    await call(d, '/admin/v1/clients/c%201', { method: 'DELETE', headers: h });
    await call(d, '/admin/v1/channels/foo/purge', { method: 'POST', headers: h });
    await call(d, '/admin/v1/channels/foo/purge', { method: 'POST', headers: h, body: '{"before_seq":5}' });
    await call(d, '/admin/v1/channels/foo/purge', { method: 'POST', headers: h, body: '{"before_time":"2026-01-02T03:04:05Z"}' });
    await call(d, '/admin/v1/channels/foo', { method: 'DELETE', headers: h });
    await call(d, '/admin/v1/channels/foo/durables/reset', { method: 'POST', headers: h, body: '{"client_id":"c","durable":"d","queue":"q","seq":9}' });
    await call(d, '/admin/v1/channels/dlq.foo/messages/3/requeue', { method: 'POST', headers: h });
    assert.deepEqual(ops.calls, [
      { clientID: 'c 1' },
      { channel: 'foo', kind: 'all' },
      { channel: 'foo', kind: 'before_seq', beforeSeq: 5 },
      { channel: 'foo', kind: 'before_time', beforeTime: new Date('2026-01-02T03:04:05Z') },
      { channel: 'foo' },
      { channel: 'foo', clientID: 'c', durable: 'd', queue: 'q', seq: 9 },
      { channel: 'dlq.foo', seq: 3 },
    ]);
  });

  test('on an FT standby: 503 not_active naming the active server and the group; reads still answer', async () => {
    const ops = new FullOps();
    const d = deps({ ops, role: async () => ({ active: false, activeServer: 'NUIDACTIVE', group: 'orders-ft' }) });
    const a = await call(d, '/admin/v1/channels/foo/purge', { method: 'POST', headers: bearer(TOKEN), body: '{}' });
    assert.equal(a.status, 503);
    assert.equal(a.body.code, 'not_active');
    assert.equal(a.body.active_server, 'NUIDACTIVE');
    assert.equal(a.body.ft_group, 'orders-ft');
    assert.match(a.body.message ?? '', /server ID "NUIDACTIVE"/);
    assert.deepEqual(ops.calls, []);
    assert.equal((await call(d, '/admin/v1/clients', { headers: bearer(TOKEN) })).status, 200);
  });

  test('on a cluster follower: 503 naming the leader\'s node ID and the cluster', async () => {
    const d = deps({ ops: new FullOps(), role: () => ({ active: false, activeServer: 'node-b', group: 'prod', clustered: true }) });
    const a = await call(d, '/admin/v1/clients/c1', { method: 'DELETE', headers: bearer(TOKEN) });
    assert.deepEqual([a.status, a.body.active_server, a.body.ft_group], [503, 'node-b', 'prod']);
    assert.match(a.body.message ?? '', /not the leader of cluster "prod": send it to the leader, node ID "node-b"/);
  });

  test('nobody holds the lease: 503 with active_server null, and the message says so', async () => {
    const d = deps({ ops: new FullOps(), role: () => ({ active: false, activeServer: null, group: 'orders-ft' }) });
    const a = await call(d, '/admin/v1/clients/c1', { method: 'DELETE', headers: bearer(TOKEN) });
    assert.equal(a.status, 503);
    assert.equal(a.body.active_server, null);
    assert.ok('active_server' in a.body);
    assert.match(a.body.message ?? '', /nobody holds the lease of FT group "orders-ft"/);
  });

  test('on an FT standby that does not know the active server: 503 naming the FT group', async () => {
    const ops = new FullOps();
    const d = deps({ ops, role: () => ({ active: false, group: 'orders-ft' }) });
    const a = await call(d, '/admin/v1/clients/c1', { method: 'DELETE', headers: bearer(TOKEN) });
    assert.equal(a.status, 503);
    assert.equal(a.body.code, 'not_active');
    assert.equal(a.body.ft_group, 'orders-ft');
    assert.ok(!('active_server' in a.body));
    assert.match(a.body.message ?? '', /active server of FT group "orders-ft"/);
    assert.deepEqual(ops.calls, []);
  });
});

describe('admin API: who is active (lease holder)', () => {
  function source(state: ServerState, cluster?: { nodeID: string; role: string }): () => StreamingMonitorSource {
    const o = defaultServerOptions();
    return () => ({ clusterID: 'c', serverID: 'SELF', startTime: new Date(0), state, cluster, core: undefined, store: undefined, limits: o.streaming.storeLimits, storeType: 'FILE' });
  }
  function ftOptions(): ServerOptions {
    const o = defaultServerOptions();
    o.streaming.ftGroupName = 'orders-ft';
    return o;
  }
  const counting = (answer: () => Promise<string | undefined>): { lookup: () => Promise<string | undefined>; n: () => number } => {
    let n = 0;
    return { lookup: () => (n++, answer()), n: () => n };
  };

  test('an FT standby reads the holder; an active server never asks', async () => {
    const l = counting(async () => 'NUIDA');
    assert.deepEqual(await adminRole(ftOptions(), source('FT_STANDBY'), l.lookup, silentLogger)(), { active: false, group: 'orders-ft', activeServer: 'NUIDA' });
    assert.deepEqual(await adminRole(ftOptions(), source('FT_ACTIVE'), l.lookup, silentLogger)(), { active: true, group: 'orders-ft' });
    assert.equal(l.n(), 1);
  });

  test('nobody holds the lease: null; our own ID: taking over; a failed read: unknown, logged', async () => {
    const free = await adminRole(ftOptions(), source('FT_STANDBY'), async () => undefined, silentLogger)();
    assert.equal(free.activeServer, null);
    const self = await adminRole(ftOptions(), source('FT_STANDBY'), async () => 'SELF', silentLogger)();
    assert.deepEqual([self.activeServer, self.takingOver], ['SELF', true]);
    const warned: string[] = [];
    const log: Logger = { ...silentLogger, warn: (m: string) => void warned.push(m) };
    const down = await adminRole(ftOptions(), source('FT_STANDBY'), () => Promise.reject(new Error('connection refused')), log)();
    assert.deepEqual(down, { active: false, group: 'orders-ft' });
    assert.match(warned.join('\n'), /could not read the lease.*connection refused/);
  });

  test('a cluster follower names the leader\'s node ID; the leader takes the call', async () => {
    const o = defaultServerOptions();
    o.streaming.clusterID = 'prod';
    const follower = await adminRole(o, source('CLUSTERED', { nodeID: 'node-a', role: 'Follower' }), async () => 'node-b', silentLogger)();
    assert.deepEqual(follower, { active: false, group: 'prod', clustered: true, activeServer: 'node-b' });
    const leader = await adminRole(o, source('CLUSTERED', { nodeID: 'node-b', role: 'Leader' }), async () => 'node-b', silentLogger)();
    assert.equal(leader.active, true);
  });

  test('a burst of refused calls reads the lease once per second', async () => {
    let now = 0;
    const holder = new ActiveServerSource(() => now);
    const l = counting(async () => 'NUIDA');
    holder.attach(l.lookup);
    const d = deps({ ops: new FullOps(), role: adminRole(ftOptions(), source('FT_STANDBY'), holder.lookup, silentLogger) });
    const burst = await Promise.all([1, 2, 3, 4, 5].map(() => call(d, '/admin/v1/clients/c1', { method: 'DELETE', headers: bearer(TOKEN) })));
    assert.deepEqual(burst.map((a) => a.body.active_server), ['NUIDA', 'NUIDA', 'NUIDA', 'NUIDA', 'NUIDA']);
    assert.equal(l.n(), 1);
    now = 999;
    await holder.lookup();
    assert.equal(l.n(), 1);
    now = 1000;
    await holder.lookup();
    assert.equal(l.n(), 2);
  });

  test('lease source: refuses before the lease is open; a failure is kept for the period too', async () => {
    let now = 0;
    const holder = new ActiveServerSource(() => now);
    await assert.rejects(holder.lookup(), /not open yet/);
    const l = counting(() => Promise.reject(new Error('db down')));
    holder.attach(l.lookup);
    await assert.rejects(holder.lookup(), /db down/);
    await assert.rejects(holder.lookup(), /db down/);
    assert.equal(l.n(), 1);
    now = 1500;
    await assert.rejects(holder.lookup(), /db down/);
    assert.equal(l.n(), 2);
  });
});

describe('admin API: openapi.json', () => {
  function refs(s: Schema | undefined, out: string[]): void {
    if (!s) return;
    if (s.$ref) out.push(s.$ref);
    for (const p of Object.values(s.properties ?? {})) refs(p, out);
    refs(s.items, out);
    if (typeof s.additionalProperties === 'object') refs(s.additionalProperties, out);
  }

  test('served without credentials, listing only the endpoints served', async () => {
    const a = await call(deps({ auth: { token: '' } }), '/admin/v1/openapi.json');
    assert.equal(a.status, 200);
    const paths = a.body['paths'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(
      Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort(),
      ['get /channels/{name}/messages', 'get /clients'],
    );
  });

  test('shape: OpenAPI 3, one operation per endpoint, parameters and $refs resolve', () => {
    const doc = openApiDocument(availableEndpoints(new FullOps()), '1.2.3');
    assert.equal(doc.openapi, '3.0.3');
    assert.equal(doc.info.version, '1.2.3');
    assert.deepEqual(doc.servers, [{ url: '/admin/v1' }]);
    assert.deepEqual(doc.components.securitySchemes['bearer'], { type: 'http', scheme: 'bearer' });
    let n = 0;
    const allRefs: string[] = [];
    for (const e of ENDPOINTS) {
      const op = doc.paths[e.path]?.[e.method.toLowerCase() as 'get' | 'post' | 'delete'];
      assert.ok(op, `${e.method} ${e.path} documented`);
      n++;
      assert.equal(op.operationId, e.id);
      for (const code of ['200', '400', '401', '403']) assert.ok(op.responses[code], `${e.id} documents ${code}`);
      if (e.mutating) {
        // Both 503s: the shared not_active one must not be lost, nor not_stored left out.
        assert.match(op.responses['503']?.description ?? '', /not_active/, `${e.id} documents 503 not_active`);
        assert.match(op.responses['503']?.description ?? '', /not_stored/, `${e.id} documents 503 not_stored`);
      }
      const templ = [...e.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      assert.deepEqual(op.parameters.filter((p) => p.in === 'path').map((p) => p.name), templ);
      for (const r of Object.values(op.responses)) refs(r.content?.['application/json'].schema, allRefs);
      refs(op.requestBody?.content['application/json'].schema, allRefs);
    }
    assert.equal(n, 7);
    for (const s of Object.values(doc.components.schemas)) refs(s, allRefs);
    for (const r of allRefs) {
      const name = r.replace('#/components/schemas/', '');
      assert.ok(doc.components.schemas[name], `${r} resolves`);
    }
    // A JSON round trip keeps it: no functions or undefined in the document.
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  });
});

describe('admin API: message form', () => {
  const wire = (data: Uint8Array) => ({
    seq: 4,
    timestamp: 1_767_225_600_123_456_789,
    bytes: MsgProtoCodec.encode({ sequence: 4, subject: 'foo', reply: 'r', data, timestamp: 1_767_225_600_123_456_789 }),
  });

  test('utf8 as asked; binary payloads fall back to base64 and say so', () => {
    const t = adminMessage(wire(Buffer.from('héllo')), 'utf8');
    assert.deepEqual({ ...t, timestamp: t.timestamp.slice(0, 23) }, {
      seq: 4, timestamp: '2026-01-01T00:00:00.123', subject: 'foo', reply: 'r', size: 6, encoding: 'utf8', data: 'héllo',
    });
    const b = adminMessage(wire(new Uint8Array([0xff, 0x00, 0xfe])), 'utf8');
    assert.equal(b.encoding, 'base64');
    assert.equal(b.data, Buffer.from([0xff, 0x00, 0xfe]).toString('base64'));
    assert.equal(adminMessage(wire(Buffer.from('x')), 'base64').data, 'eA==');
  });
});
