/**
 * The executable's one exit path (src/cli/lifecycle.ts), for every exit reason: the pid file
 * is removed and the exit code is the reference's. The server is a stand-in that behaves as
 * StreamingServer does towards its owner (start resolves once serving, or waits as an FT
 * standby until aborted; onFatal/onStepDown are the server's own calls); the pid file is real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ServerLifecycle, type ServerEvents } from '../../src/cli/lifecycle';
import { captureLogger } from '../helpers/nats-helpers';
import { until } from '../helpers/stan';
import { LeaseLostError } from '../../src/ft/lease';

class StandIn {
  shutdowns = 0;
  constructor(private readonly failShutdown = false) {}
  shutdown(): Promise<void> {
    this.shutdowns++;
    return this.failShutdown ? Promise.reject(new Error('store unreachable')) : Promise.resolve();
  }
}

/** A start that waits like an FT standby: rejects when aborted, or serves when `promote` is called. */
function standbyStart(events: ServerEvents, server: StandIn): { started: Promise<StandIn>; promote: () => void } {
  let promote = (): void => {};
  const started = new Promise<StandIn>((resolve, reject) => {
    promote = () => resolve(server);
    events.signal.addEventListener('abort', () => reject(new Error('FT: start aborted')), { once: true });
  });
  return { started, promote };
}

interface Harness {
  lifecycle: ServerLifecycle<StandIn>;
  pidFile: string;
  exited: Promise<number>;
  events: () => ServerEvents;
  log: ReturnType<typeof captureLogger>;
  starts: () => number;
}

function harness(start: (events: ServerEvents, n: number) => Promise<StandIn>, standbyOnLoss = false): Harness {
  const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stan-lifecycle-')), 'server.pid');
  const log = captureLogger();
  let last: ServerEvents | undefined;
  let n = 0;
  let exit: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => (exit = resolve));
  let exits = 0;
  const lifecycle = new ServerLifecycle<StandIn>({
    start: (events) => {
      last = events;
      return start(events, ++n);
    },
    standbyOnLoss,
    pidFile,
    log,
    startFailed: (err) => log.fatal(String(err)),
    exit: (code) => {
      exits++;
      assert.equal(exits, 1, 'exit called once');
      exit(code);
    },
  });
  return {
    lifecycle,
    pidFile,
    exited,
    events: () => {
      assert.ok(last, 'started');
      return last;
    },
    log,
    starts: () => n,
  };
}

async function serving(h: Harness): Promise<void> {
  await h.lifecycle.launch();
  assert.equal(fs.readFileSync(h.pidFile, 'utf8'), String(process.pid), 'pid file written once serving');
}

for (const [signal, code] of [['SIGINT', 0], ['SIGTERM', 143]] as const) {
  test(`${signal} while serving: shut down, pid file removed, exit ${code}`, async () => {
    const server = new StandIn();
    const h = harness(() => Promise.resolve(server));
    await serving(h);
    h.lifecycle.stop(signal);
    h.lifecycle.stop('SIGINT'); // a second signal changes nothing
    assert.equal(await h.exited, code);
    assert.equal(server.shutdowns, 1);
    assert.equal(fs.existsSync(h.pidFile), false);
  });
}

const SERVER_ENDS: Array<[string, (e: ServerEvents) => void]> = [
  ['FT step-down (no --ft_standby_on_loss)', (e) => e.onStepDown()],
  ['fatal error while serving', (e) => e.onFatal()],
];
for (const [what, end] of SERVER_ENDS) {
  test(`${what}: shut down, pid file removed, exit 1`, async () => {
    const server = new StandIn();
    const h = harness(() => Promise.resolve(server));
    await serving(h);
    end(h.events());
    assert.equal(await h.exited, 1);
    assert.equal(server.shutdowns, 1);
    assert.equal(fs.existsSync(h.pidFile), false);
  });
}

test('a step-down whose shutdown fails is logged and still exits 1 without the pid file', async () => {
  const h = harness(() => Promise.resolve(new StandIn(true)));
  await serving(h);
  h.events().onStepDown();
  assert.equal(await h.exited, 1);
  assert.equal(fs.existsSync(h.pidFile), false);
  assert.ok(h.log.lines.includes('ERR Error during shutdown: store unreachable'), h.log.lines.join('\n'));
});

test('a start that fails: reported, exit 1, no pid file', async () => {
  const h = harness(() => Promise.reject(new Error('address in use')));
  await h.lifecycle.launch();
  assert.equal(await h.exited, 1);
  assert.equal(fs.existsSync(h.pidFile), false);
  assert.deepEqual(h.log.lines, ['FTL Error: address in use']);
});

test('the lease lost while starting: a step-down, exit 1; with --ft_standby_on_loss back to standby', async () => {
  const lost = (): Promise<StandIn> => Promise.reject(new LeaseLostError('the lease was lost while starting'));
  const h = harness(lost);
  await h.lifecycle.launch();
  assert.equal(await h.exited, 1);
  const again = harness((events, n) => (n === 1 ? lost() : standbyStart(events, new StandIn()).started), true);
  await again.lifecycle.launch();
  await until(() => again.starts() === 2);
  assert.ok(again.log.lines.includes('INF ft: going back to standby'), again.log.lines.join('\n'));
  again.lifecycle.stop('SIGTERM');
  assert.equal(await again.exited, 143);
});

test('SIGTERM while waiting as an FT standby: the start is aborted, exit 143', async () => {
  const h = harness((events) => standbyStart(events, new StandIn()).started);
  const launched = h.lifecycle.launch();
  h.lifecycle.stop('SIGTERM');
  await launched;
  assert.equal(await h.exited, 143);
  assert.equal(fs.existsSync(h.pidFile), false);
  assert.ok(h.log.lines.includes('INF Shutting down.'));
});

test('--ft_standby_on_loss: step-down goes back to standby; SIGTERM there removes the pid file, exit 143', async () => {
  const first = new StandIn();
  const h = harness((events, n) => (n === 1 ? Promise.resolve(first) : standbyStart(events, new StandIn()).started), true);
  await serving(h);
  h.events().onStepDown();
  await until(() => h.starts() === 2, 5000, 'back to standby');
  assert.equal(first.shutdowns, 1);
  assert.equal(h.lifecycle.server, undefined, 'not serving while standby');
  assert.ok(h.log.lines.includes('INF ft: going back to standby'));
  assert.ok(fs.existsSync(h.pidFile), 'the process still runs: its pid file stays');
  h.lifecycle.stop('SIGTERM');
  assert.equal(await h.exited, 143);
  assert.equal(fs.existsSync(h.pidFile), false);
});

test('--ft_standby_on_loss: SIGINT while the old server shuts down: no new standby, exit 0', async () => {
  let release = (): void => {};
  const slow = new StandIn();
  slow.shutdown = () => new Promise<void>((resolve) => (release = resolve));
  const h = harness(() => Promise.resolve(slow), true);
  await serving(h);
  h.events().onStepDown();
  h.lifecycle.stop('SIGINT');
  release();
  assert.equal(await h.exited, 0);
  assert.equal(h.starts(), 1, 'not started again');
  assert.equal(fs.existsSync(h.pidFile), false);
});

test('--ft_standby_on_loss: promoted again after standby, then SIGINT: exit 0', async () => {
  let promote = (): void => {};
  const second = new StandIn();
  const h = harness((events, n) => {
    if (n === 1) return Promise.resolve(new StandIn());
    const s = standbyStart(events, second);
    promote = s.promote;
    return s.started;
  }, true);
  await serving(h);
  h.events().onStepDown();
  await until(() => h.starts() === 2, 5000, 'back to standby');
  promote();
  await until(() => h.lifecycle.server === second, 5000, 'serving again');
  h.lifecycle.stop('SIGINT');
  assert.equal(await h.exited, 0);
  assert.equal(second.shutdowns, 1);
  assert.equal(fs.existsSync(h.pidFile), false);
});

test('a signal before the start began: no start at all, exit with its code', async () => {
  const h = harness(() => Promise.resolve(new StandIn()));
  h.lifecycle.stop('SIGINT');
  await h.lifecycle.launch();
  assert.equal(await h.exited, 0);
  assert.equal(h.starts(), 0);
  assert.equal(fs.existsSync(h.pidFile), false);
});
