/**
 * The external transport's cluster standby (src/nats/cluster-standby.ts) against real
 * Debian nats-servers: the second connection lands on another member than the main one
 * (checked through that member's /connz), is placed again when its member comes back after
 * a restart, and serves `clusterStandby` subscriptions; with a lone server there is none.
 * Requests fail at once while the transport is disconnected (NotConnectedError).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { connectExternal } from '../../src/nats/external';
import { NotConnectedError, type NatsTransport } from '../../src/nats/transport';
import { RealNatsServer, startRoutedPair } from '../helpers/nats-server';
import { captureLogger } from '../helpers/nats-helpers';
import { httpGet } from '../helpers/http';
import { until } from '../helpers/stan';

const servers: RealNatsServer[] = [];
const transports: NatsTransport[] = [];
after(async () => {
  for (const t of transports) await t.close();
  await Promise.all(servers.map((s) => s.stop()));
});

const sc = StringCodec();
/** The standby connection's name for a transport named `standby-test`. */
const STANDBY = 'standby-test-standby';

/** Names of the client connections a nats-server reports on its /connz. */
async function connNames(httpPort: number): Promise<string[]> {
  const r = await httpGet(httpPort, '/connz');
  const body = JSON.parse(r.body) as { connections?: Array<{ name?: string }> };
  return (body.connections ?? []).map((c) => c.name ?? '');
}

interface ConnStats {
  name?: string;
  in_msgs: number;
  out_msgs: number;
  subscriptions: number;
}

/** The named connection's entry on a nats-server's /connz, if it is there. */
async function connStats(httpPort: number, name: string): Promise<ConnStats | undefined> {
  const body = JSON.parse((await httpGet(httpPort, '/connz')).body) as { connections?: ConnStats[] };
  return (body.connections ?? []).find((x) => x.name === name);
}

/** Waits until the named connection's /connz entry satisfies `pred`. */
async function eventuallyConn(httpPort: number, name: string, pred: (c: ConnStats) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15000;
  for (;;) {
    const c = await connStats(httpPort, name);
    if (c !== undefined && pred(c)) return;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}; ${name} on /connz: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Requests `subject` through `client` (connected to the standby's member), each answer
 * checked, until that member has handed the standby more than `delivered` messages.
 *
 * Why a loop: a nats-server hands a client's message for a queue group to one member taken
 * at random among its local ones (here the standby) and those behind its routes (the main
 * connection on A), a route counting as many times as it has members; it prefers local
 * members only for messages that come from a route (nats-server 2.9 processMsgResults;
 * measured here: 49% of 1000 requests went to the standby). So any fixed number of requests
 * may all go to the main connection: the 6 this test used to send did so in a CI run and in
 * 1 run of 108 here, leaving the standby at in_msgs = out_msgs = 0, its subscription in place.
 */
async function requestUntilStandbyServes(client: NatsConnection, subject: string, httpPort: number, standby: string, delivered: number): Promise<void> {
  const deadline = Date.now() + 15000;
  for (let i = 0; ; i++) {
    const m = await client.request(subject, sc.encode(`${subject} ${i}`), { timeout: 5000 });
    assert.equal(sc.decode(m.data), `${subject} ${i}`);
    // The member counts a delivery before the standby can answer it: when the answer is
    // here, a request the standby got is already on /connz.
    if (((await connStats(httpPort, standby))?.out_msgs ?? 0) > delivered) return;
    // 1/2 per request: 15 s of requests (hundreds) all missing the standby means it is not served.
    if (Date.now() > deadline) throw new Error(`${i + 1} requests on ${subject} through its member, none reached the standby ${standby}`);
  }
}

async function eventuallyNames(httpPort: number, pred: (names: string[]) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15000;
  for (;;) {
    const names = await connNames(httpPort);
    if (pred(names)) return;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${what}; /connz names: ${JSON.stringify(names)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two routed servers: the standby connection lands on the other member, serves requests there, and is placed again after that member restarts', async () => {
  const [a, b] = await startRoutedPair('standby', { monitor: true });
  servers.push(a, b);
  const [ha, hb] = [a.httpPort as number, b.httpPort as number];

  const log = captureLogger(true);
  const t = await connectExternal([a.url], { name: 'standby-test' }, log, { clusterStandby: true });
  transports.push(t);
  t.subscribe('svc.echo', (_s, reply, data) => t.publish(reply ?? '', data), { clusterStandby: true });

  // Its subscription registered on B, not only its connection: until then B has no local member.
  await eventuallyConn(hb, STANDBY, (c) => c.subscriptions === 1, 'the standby connection subscribed on B');
  // Not on A: the standby may have tried A first (the main connection's server: it connects
  // to learn the server ID, then closes). A nats-server lists a connection the client has
  // closed until it reads the close: seen here up to 99 ms under load (37% of 200 closes
  // still listed at the first /connz), once after the standby had subscribed on B.
  await eventuallyNames(ha, (n) => n.includes('standby-test') && !n.includes(STANDBY), 'only the main connection on A');

  // Requests through B are answered (by the standby, B's local queue member, or the main).
  const client = await connect({ servers: b.url });
  try {
    // Interest crosses the route asynchronously: a request that goes to A may have its answer
    // dropped there while A does not know the requester's inbox yet. Wait for a first answer
    // (not asserted: that is NATS cluster behaviour, not ours).
    const warmDeadline = Date.now() + 15000;
    for (;;) {
      try {
        await client.request('svc.echo', sc.encode('warm-up'), { timeout: 1000 });
        break;
      } catch (err) {
        if (Date.now() > warmDeadline) throw err;
      }
    }
    for (let i = 0; i < 5; i++) {
      const m = await client.request('svc.echo', sc.encode(`q${i}`), { timeout: 5000 });
      assert.equal(sc.decode(m.data), `q${i}`);
    }
    // The standby serves requests there: at least one of them reached it.
    await requestUntilStandbyServes(client, 'svc.echo', hb, STANDBY, 0);
  } finally {
    await client.close();
  }

  // Every request the standby received was answered through the standby itself (its
  // member knows the requester's inbox for certain): messages in = messages out on /connz.
  await eventuallyConn(hb, STANDBY, (c) => c.out_msgs > 0 && c.in_msgs === c.out_msgs, 'the standby answering what it received');

  // B goes away: the standby loses its member (A alone is left: nowhere to go). B comes
  // back and joins the cluster again: the standby is placed there again.
  await b.restart();
  await eventuallyNames(hb, (n) => n.includes(STANDBY), 'the standby connection back on B');
  await eventuallyNames(ha, (n) => n.includes('standby-test') && !n.includes(STANDBY), 'only the main connection on A again');
  assert.ok(log.lines.some((l) => l.includes('standby connection "standby-test-standby" lost its NATS Server')), log.lines.join('\n'));
});

test('a subscription added once the standby is placed: the requests it receives are answered through the standby too', async () => {
  const [a, b] = await startRoutedPair('standby-late', { monitor: true });
  servers.push(a, b);
  const hb = b.httpPort as number;
  const t = await connectExternal([a.url], { name: 'late-test' }, captureLogger(true), { clusterStandby: true });
  transports.push(t);
  const standby = 'late-test-standby';
  const echo = (_s: string, reply: string | undefined, data: Uint8Array): void => t.publish(reply ?? '', data);
  t.subscribe('svc.first', echo, { clusterStandby: true });
  await eventuallyConn(hb, standby, (c) => c.subscriptions === 1, 'the standby placed on B');

  // A later subject (the core subscribes its request subjects again when the recovered store
  // names other ones): the standby subscribes it on its connection at once.
  t.subscribe('svc.late', echo, { clusterStandby: true });
  await eventuallyConn(hb, standby, (c) => c.subscriptions === 2, 'the standby subscribed to svc.late');
  const client = await connect({ servers: b.url });
  try {
    await requestUntilStandbyServes(client, 'svc.late', hb, standby, 0);
  } finally {
    await client.close();
  }
  await eventuallyConn(hb, standby, (c) => c.in_msgs === c.out_msgs, 'the standby answering what it received on svc.late');
});

test('a lone server: no standby connection; a request while disconnected fails at once with NotConnectedError', async () => {
  const s = await RealNatsServer.start({ monitor: true });
  servers.push(s);
  const http = s.httpPort as number;
  const log = captureLogger(true);
  const t = await connectExternal([s.url], { name: 'lone-test' }, log, { clusterStandby: true });
  transports.push(t);
  t.subscribe('svc.echo', (_s, reply, data) => t.publish(reply ?? '', data), { clusterStandby: true });
  await t.flush();
  assert.equal(sc.decode(await t.request('svc.echo', sc.encode('x'), 5000)), 'x');
  assert.deepEqual(await connNames(http), ['lone-test']);

  await s.stop();
  await until(() => log.lines.some((l) => l.includes('nats: disconnected')), 10000, 'the disconnect');
  await assert.rejects(t.request('svc.echo', sc.encode('y'), 60000), NotConnectedError);
});
