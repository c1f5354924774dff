/** In-process transport ↔ socket clients, and the external (nats.js) transport. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, StringCodec } from 'nats';
import { connectInProcess } from '../../src/nats/embedded';
import { connectExternal } from '../../src/nats/external';
import { NoRespondersError, RequestTimeoutError, type NatsTransport } from '../../src/nats/transport';
import { captureLogger, rawConnected, startServer } from '../helpers/nats-helpers';

const sc = StringCodec();
const enc = (s: string): Uint8Array => sc.encode(s);
const dec = (d: Uint8Array): string => sc.decode(d);

test('in-process → socket subscriber and socket → in-process subscriber', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  try {
    // socket subscriber, in-process publisher
    const fromIp = new Promise<[string, string | undefined, string]>((resolve) =>
      nc.subscribe('to.sock', { callback: (_e, m) => resolve([m.subject, m.reply === '' ? undefined : m.reply, dec(m.data)]) }),
    );
    await nc.flush();
    ip.publish('to.sock', enc('hello socket'), 'the.reply');
    assert.deepEqual(await fromIp, ['to.sock', 'the.reply', 'hello socket']);

    // in-process subscriber, socket publisher; delivery is synchronous with (subject, reply, data)
    const got: [string, string | undefined, string][] = [];
    const sub = ip.subscribe('to.ip.*', (subject, reply, data) => got.push([subject, reply, dec(data)]));
    nc.publish('to.ip.a', enc('one'));
    nc.publish('to.ip.b', enc('two'), { reply: 'r.x' });
    await nc.flush();
    assert.deepEqual(got, [
      ['to.ip.a', undefined, 'one'],
      ['to.ip.b', 'r.x', 'two'],
    ]);
    sub.unsubscribe();
    nc.publish('to.ip.c', enc('three'));
    await nc.flush();
    assert.equal(got.length, 2);
  } finally {
    await nc.close();
    await ip.close();
    await s.close();
  }
});

test('in-process pub/sub on the same connection (echo) and queue groups', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  try {
    const got: string[] = [];
    ip.subscribe('self', (_s, _r, d) => got.push(dec(d)));
    ip.publish('self', enc('me'));
    assert.deepEqual(got, ['me'], 'delivered synchronously to own subscription');
    const counts = [0, 0];
    ip.subscribe('work', () => counts[0]++, { queue: 'g' });
    ip.subscribe('work', () => counts[1]++, { queue: 'g' });
    for (let i = 0; i < 200; i++) ip.publish('work', enc(''));
    assert.equal(counts[0] + counts[1], 200);
    assert.ok(counts[0] > 20 && counts[1] > 20, counts.join(','));
    assert.throws(() => ip.subscribe('bad..subject', () => {}));
  } finally {
    await ip.close();
    await s.close();
  }
});

test('in-process request ↔ socket responder, socket request ↔ in-process responder', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  try {
    nc.subscribe('sock.svc', { callback: (_e, m) => m.respond(enc(`sock:${dec(m.data)}`)) });
    await nc.flush();
    assert.equal(dec(await ip.request('sock.svc', enc('a'), 1000)), 'sock:a');

    ip.subscribe('ip.svc', (_s, reply, data) => {
      if (reply !== undefined) ip.publish(reply, enc(`ip:${dec(data)}`));
    });
    const r = await nc.request('ip.svc', enc('b'), { timeout: 1000 });
    assert.equal(dec(r.data), 'ip:b');

    // In-process responder answering an in-process request synchronously.
    assert.equal(dec(await ip.request('ip.svc', enc('c'), 1000)), 'ip:c');
  } finally {
    await nc.close();
    await ip.close();
    await s.close();
  }
});

test('in-process request: no responders rejects at once, silence times out', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  try {
    const t0 = Date.now();
    await assert.rejects(ip.request('nobody', enc('x'), 5000), NoRespondersError);
    assert.ok(Date.now() - t0 < 100);
    ip.subscribe('silent', () => {});
    const t1 = Date.now();
    await assert.rejects(ip.request('silent', enc('x'), 150), RequestTimeoutError);
    assert.ok(Date.now() - t1 >= 140);
  } finally {
    await ip.close();
    await s.close();
  }
});

test('in-process: inbox shape, flush, close semantics, stats', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'stan-general');
  const inbox = ip.newInbox();
  assert.match(inbox, /^_INBOX\.[0-9A-Za-z]{22}$/);
  assert.notEqual(ip.newInbox(), inbox);
  await ip.flush();
  ip.subscribe('x', () => {});
  const conn = s.connections().find((c) => c.name === 'stan-general');
  assert.equal(conn?.kind, 'inprocess');
  assert.equal(conn?.subscriptions, 1);
  ip.publish('x', enc('abc'));
  assert.equal(s.stats().inMsgs, 1);
  assert.equal(s.stats().outMsgs, 1);
  await ip.close();
  assert.equal(ip.closed, true);
  assert.equal(s.stats().subscriptions, 0);
  ip.publish('x', enc('dropped')); // must not throw
  await s.close();
});

test('in-process handler errors are logged and do not break other deliveries', async () => {
  const log = captureLogger();
  const s = await startServer({}, log);
  const ip = connectInProcess(s, 'inproc');
  try {
    const c = await rawConnected(s.port);
    c.send('SUB boom 1\r\n');
    await c.sync();
    ip.subscribe('boom', () => {
      throw new Error('handler bug');
    });
    ip.publish('boom', enc('x'));
    await c.waitFor('MSG boom 1 1\r\nx\r\n');
    assert.ok(log.lines.some((l) => l.includes('handler bug')));
    c.close();
  } finally {
    await ip.close();
    await s.close();
  }
});

test('in-process publish to a raw socket subscriber: exact bytes, large payload, no headers', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  try {
    const c = await rawConnected(s.port);
    c.send('SUB p.> 9\r\n');
    await c.sync();
    ip.publish('p.small', enc('abc'), 'rep');
    const big = Buffer.alloc(100_000, 0x61);
    ip.publish('p.big', big);
    await c.waitFor(`MSG p.big 9 100000\r\n${'a'.repeat(100000)}\r\n`);
    assert.equal(c.afterInfo, `PONG\r\nPONG\r\nMSG p.small 9 rep 3\r\nabc\r\nMSG p.big 9 100000\r\n${'a'.repeat(100000)}\r\n`);
    c.close();
  } finally {
    await ip.close();
    await s.close();
  }
});

test('server close shuts in-process connections and rejects pending requests', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  ip.subscribe('silent', () => {});
  const p = ip.request('silent', enc('x'), 5000);
  await s.close();
  await assert.rejects(p);
  assert.equal(ip.closed, true);
});

test('external transport (nats.js) over the embedded server', async () => {
  const s = await startServer();
  const log = captureLogger();
  const ext: NatsTransport = await connectExternal([`nats://127.0.0.1:${s.port}`], { name: 'ext' }, log);
  try {
    assert.ok(s.connections().some((c) => c.name === 'ext'));
    const got: [string, string | undefined, string][] = [];
    const sub = ext.subscribe('e.*', (subject, reply, data) => got.push([subject, reply, dec(data)]));
    await ext.flush();
    ext.publish('e.1', enc('a'));
    ext.publish('e.2', enc('b'), 'r');
    await ext.flush();
    await ext.flush();
    assert.deepEqual(got, [
      ['e.1', undefined, 'a'],
      ['e.2', 'r', 'b'],
    ]);
    sub.unsubscribe();

    ext.subscribe('e.svc', (_s, reply, data) => {
      if (reply !== undefined) ext.publish(reply, enc(`re:${dec(data)}`));
    });
    await ext.flush();
    assert.equal(dec(await ext.request('e.svc', enc('q'), 1000)), 're:q');
    await assert.rejects(ext.request('e.none', enc('q'), 1000), NoRespondersError);
    ext.subscribe('e.silent', () => {});
    await ext.flush();
    await assert.rejects(ext.request('e.silent', enc('q'), 150), RequestTimeoutError);
    assert.match(ext.newInbox(), /^_INBOX\./);
  } finally {
    await ext.close();
    assert.equal(ext.closed, true);
    ext.publish('after.close', enc('x')); // must not throw
    await s.close();
  }
});

test('external transport with auth', async () => {
  const s = await startServer({ username: 'u', password: 'p' });
  try {
    await assert.rejects(connectExternal([`nats://127.0.0.1:${s.port}`], { name: 'x', user: 'u', pass: 'bad' }, captureLogger()));
    const ext = await connectExternal([`nats://127.0.0.1:${s.port}`], { name: 'x', user: 'u', pass: 'p' }, captureLogger());
    await ext.flush();
    await ext.close();
  } finally {
    await s.close();
  }
});

test('in-process subject group: one handler for many literal subjects, counted per subject', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  try {
    const got: [string, string][] = [];
    const subjects = new Map<string, number>();
    const group = ip.subscribeGroup((subject, _r, data) => got.push([subject, dec(data)]), subjects);
    for (const [i, subj] of ['ack.1', 'ack.2', 'ack.3'].entries()) {
      group.add(subj);
      subjects.set(subj, i);
    }
    assert.throws(() => group.add('ack.*'), /not a literal subject/);
    const before = s.sublist.size;
    const mine = ip.snapshot();
    assert.equal(mine.subscriptions, 3);
    assert.deepEqual(mine.subscriptionsList.map((e) => e.subject).sort(), ['ack.1', 'ack.2', 'ack.3']);
    nc.publish('ack.2', enc('two'));
    nc.publish('ack.4', enc('none'));
    nc.publish('ack.1', enc('one'));
    await nc.flush();
    assert.deepEqual(got, [
      ['ack.2', 'two'],
      ['ack.1', 'one'],
    ]);
    group.delete('ack.2');
    subjects.delete('ack.2');
    assert.equal(s.sublist.size, before - 1);
    nc.publish('ack.2', enc('late'));
    nc.publish('ack.3', enc('three'));
    await nc.flush();
    assert.deepEqual(got.slice(2), [['ack.3', 'three']]);
    group.close();
    assert.equal(s.sublist.size, before - 3);
    assert.equal(ip.snapshot().subscriptions, 0);
    nc.publish('ack.3', enc('after close'));
    await nc.flush();
    assert.equal(got.length, 3);
    // A connection closing removes its groups' subjects too.
    const again = ip.subscribeGroup(() => undefined, new Map([['ack.9', 0]]));
    again.add('ack.9');
    assert.equal(s.sublist.size, before - 2);
    await ip.close();
    assert.equal(s.sublist.size, before - 3);
  } finally {
    await nc.close();
    await ip.close();
    await s.close();
  }
});

test('publishRun: a subscription closed during the run gets nothing more, and only what was delivered is counted (as publish() message by message)', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  try {
    const buf = Buffer.from('zeroonetwothreefour');
    const bounds = [0, 4, 7, 10, 15, 19];
    const got: string[] = [];
    const sub = ip.subscribe('run.once', (_s, _r, d) => {
      got.push(dec(d));
      sub.unsubscribe();
    });
    const before = s.stats();
    ip.publishRun('run.once', buf, bounds, 0, 5);
    assert.deepEqual(got, ['zero']);
    const after = s.stats();
    // Five published, one delivered.
    assert.deepEqual([after.inMsgs - before.inMsgs, after.outMsgs - before.outMsgs, after.outBytes - before.outBytes], [5, 1, 4]);
  } finally {
    await ip.close();
    await s.close();
  }
});

test('publishRun: a run of messages on one subject reaches a socket subscriber in order; several subscribers each get every message', async () => {
  const s = await startServer();
  const ip = connectInProcess(s, 'inproc');
  const nc = await connect({ servers: `127.0.0.1:${s.port}` });
  try {
    // Messages i = buf[bounds[i], bounds[i + 1]); the run sends 1..3 (not 0, not 4).
    const buf = Buffer.from('zeroonetwothreefour');
    const bounds = [0, 4, 7, 10, 15, 19];
    const one: string[] = [];
    const done = new Promise<void>((resolve) =>
      nc.subscribe('run.inbox', { callback: (_e, m) => void (one.push(dec(m.data)) === 3 && resolve()) }),
    );
    await nc.flush();
    const before = s.stats();
    ip.publishRun('run.inbox', buf, bounds, 1, 4);
    await done;
    assert.deepEqual(one, ['one', 'two', 'three']);
    // Counted per message, as three publish() calls would be.
    const after = s.stats();
    assert.deepEqual([after.inMsgs - before.inMsgs, after.inBytes - before.inBytes, after.outMsgs - before.outMsgs, after.outBytes - before.outBytes], [3, 11, 3, 11]);
    // Two subscriptions (a socket one and an in-process one) take the general path: both get all.
    const ipGot: string[] = [];
    ip.subscribe('run.inbox', (_s, reply, d) => ipGot.push(`${dec(d)}${reply === undefined ? '' : reply}`));
    const more: string[] = [];
    const done2 = new Promise<void>((resolve) =>
      nc.subscribe('run.inbox', { callback: (_e, m) => void (more.push(dec(m.data)) === 2 && resolve()) }),
    );
    await nc.flush();
    ip.publishRun('run.inbox', buf, bounds, 3, 5);
    await done2;
    assert.deepEqual(more, ['three', 'four']);
    assert.deepEqual(ipGot, ['three', 'four']);
  } finally {
    await nc.close();
    await ip.close();
    await s.close();
  }
});
