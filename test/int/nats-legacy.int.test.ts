/** The old Node `nats` 1.x client used by node-nats-streaming (protocol 1, no headers). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as NATS from 'node-nats-streaming/node_modules/nats';
import { startServer } from '../helpers/nats-helpers';

function connected(port: number, name: string): Promise<NATS.Client> {
  return new Promise((resolve, reject) => {
    const nc = NATS.connect({ url: `nats://127.0.0.1:${port}`, name, reconnect: false });
    nc.once('connect', () => resolve(nc));
    nc.once('error', reject);
  });
}

function flush(nc: NATS.Client): Promise<void> {
  return new Promise((resolve) => nc.flush(() => resolve()));
}

test('nats 1.x: connect, pub/sub, request', async () => {
  const s = await startServer();
  const a = await connected(s.port, 'legacy-a');
  const b = await connected(s.port, 'legacy-b');
  try {
    const conn = s.connections().find((c) => c.name === 'legacy-a');
    assert.equal(conn?.lang, 'node');

    const got: string[] = [];
    const all = new Promise<void>((resolve) => {
      a.subscribe('legacy.*', (msg: string, _reply: string, subject: string) => {
        got.push(`${subject}:${msg}`);
        if (got.length === 3) resolve();
      });
    });
    await flush(a);
    b.publish('legacy.1', 'one');
    b.publish('legacy.2', 'two');
    b.publish('other', 'nope');
    b.publish('legacy.3', 'three');
    await all;
    assert.deepEqual(got, ['legacy.1:one', 'legacy.2:two', 'legacy.3:three']);

    a.subscribe('legacy.svc', (msg: string, reply: string) => a.publish(reply, `re:${msg}`));
    await flush(a);
    const answer = await new Promise<string>((resolve) => {
      b.requestOne('legacy.svc', 'ping', {}, 1000, (resp: string | Error) => resolve(String(resp)));
    });
    assert.equal(answer, 're:ping');

    // A request nobody answers times out on the client side (no no_responders without headers).
    const timedOut = await new Promise<unknown>((resolve) => {
      b.requestOne('legacy.none', 'x', {}, 200, (resp: unknown) => resolve(resp));
    });
    assert.ok(timedOut instanceof Error);
  } finally {
    a.close();
    b.close();
    await s.close();
  }
});

test('nats 1.x: receives header messages as plain MSG', async () => {
  const s = await startServer();
  const a = await connected(s.port, 'legacy');
  try {
    const got = new Promise<string>((resolve) => a.subscribe('hdr', (msg: string) => resolve(msg)));
    await flush(a);
    const { connect, headers } = await import('nats');
    const nc = await connect({ servers: `127.0.0.1:${s.port}` });
    const h = headers();
    h.set('A', 'b');
    nc.publish('hdr', new TextEncoder().encode('payload'), { headers: h });
    await nc.flush();
    assert.equal(await got, 'payload');
    await nc.close();
  } finally {
    a.close();
    await s.close();
  }
});
