/**
 * The FT send gate (src/ft/gate.ts) in front of an in-memory transport, and its wiring to the
 * controller's renewals (src/ft/setup.ts gatedTransport): requests that arrive while this
 * server is not sure of its lease wait for the next renewal and then run in arrival order;
 * nothing is sent while the gate is closed; a lost lease never runs them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatedTransport } from '../../src/ft/gate';
import { FtController, type LeaseOps } from '../../src/ft/controller';
import { gatedTransport } from '../../src/ft/setup';
import { MemoryTransport } from '../helpers/memory-transport';
import { FakeClock } from '../helpers/fake-clock';
import { captureLogger } from '../helpers/nats-helpers';

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const bytes = (s: string): Uint8Array => Buffer.from(s);

test('given a closed gate, when requests arrive, then they are held and run in arrival order once it opens', async () => {
  const net = new MemoryTransport(new FakeClock());
  let open = false;
  const gate = new GatedTransport(net, () => open);
  const seen: string[] = [];
  gate.subscribe('_STAN.pub.>', (s) => seen.push(s));
  net.publish('_STAN.pub.x.a', bytes('1'));
  net.publish('_STAN.pub.x.b', bytes('2'));
  await settle();
  assert.deepEqual(seen, [], 'nothing runs while the gate is closed');
  assert.equal(gate.heldCount, 2);
  gate.release();
  assert.deepEqual(seen, [], 'release() does nothing while the gate is still closed');
  open = true;
  net.publish('_STAN.pub.x.c', bytes('3'));
  await settle();
  assert.deepEqual(seen, ['_STAN.pub.x.a', '_STAN.pub.x.b', '_STAN.pub.x.c'], 'a request arriving after the gate opened runs after the held ones');
  assert.equal(gate.heldCount, 0);
  assert.equal(gate.dropped, 0);
});

test('given a closed gate, when more requests arrive than the limit, then the excess is dropped and counted', async () => {
  const net = new MemoryTransport(new FakeClock());
  let open = false;
  const gate = new GatedTransport(net, () => open, 2);
  const seen: string[] = [];
  gate.subscribe('s', (_s, _r, d) => seen.push(Buffer.from(d).toString()));
  for (const n of ['1', '2', '3']) net.publish('s', bytes(n));
  await settle();
  open = true;
  gate.release();
  assert.deepEqual(seen, ['1', '2']);
  assert.equal(gate.dropped, 1);
});

test('given a closed gate, when the core answers, then nothing is sent', async () => {
  const net = new MemoryTransport(new FakeClock());
  const gate = new GatedTransport(net, () => false);
  gate.publish('_INBOX.x', bytes('ack'));
  assert.equal(net.published.length, 0);
  assert.equal(gate.dropped, 1);
});

/** A lease whose renewals answer as the test says. */
function scriptedLease(renewals: boolean[]): LeaseOps {
  return {
    epoch: 1,
    async tryAcquire() {
      return 1;
    },
    async renew() {
      return renewals.shift() ?? false;
    },
    async release() {},
    async close() {},
  };
}

async function activeController(clock: { ms: number }, renewals: boolean[]): Promise<{ ctl: FtController; log: ReturnType<typeof captureLogger> }> {
  const log = captureLogger();
  const ctl = new FtController(scriptedLease(renewals), { ttlMs: 1000, renewMs: 5, pollMs: 1 }, log, () => clock.ms);
  await ctl.waitUntilActive();
  return { ctl, log };
}

test('given an active whose renewal came late, when it succeeds, then the held requests run and the lateness is logged once', async () => {
  const clock = { ms: 0 };
  const { ctl, log } = await activeController(clock, [true, true]);
  const net = new MemoryTransport(new FakeClock());
  const gate = gatedTransport(net, ctl);
  const seen: string[] = [];
  gate.subscribe('s', (_s, _r, d) => seen.push(Buffer.from(d).toString()));
  clock.ms = 900; // past 0.8 of the 1 s lease: not sure any more
  net.publish('s', bytes('held'));
  await settle();
  assert.deepEqual(seen, []);
  ctl.startRenewing();
  await new Promise((r) => setTimeout(r, 30));
  await ctl.stop(false);
  assert.deepEqual(seen, ['held'], 'the renewal released the held request');
  const late = log.lines.filter((l) => /the lease was renewed 900 ms after the previous renewal, later than the 800 ms/.test(l));
  assert.equal(late.length, 1, log.lines.join('\n'));
});

test('given an active whose lease is lost, when renewing fails, then the held requests never run', async () => {
  const clock = { ms: 0 };
  const { ctl } = await activeController(clock, [false]);
  let lost = '';
  ctl.onLost = (why) => (lost = why);
  const net = new MemoryTransport(new FakeClock());
  const gate = gatedTransport(net, ctl);
  const seen: string[] = [];
  gate.subscribe('s', (_s, _r, d) => seen.push(Buffer.from(d).toString()));
  clock.ms = 900;
  net.publish('s', bytes('held'));
  await settle();
  ctl.startRenewing();
  await new Promise((r) => setTimeout(r, 30));
  assert.match(lost, /taken over or expired/);
  assert.deepEqual(seen, []);
  assert.equal(gate.heldCount, 1);
});
