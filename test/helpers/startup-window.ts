/**
 * "The port accepts connections" means "STAN connects are answered" (issue 9, item 1), one
 * store per test file (test/e2e/startup-window-<store>.e2e.test.ts), so that each file's 20
 * starts keep within the per-file time budget of a loaded CI machine.
 *
 * A client that connects the instant the server's port accepts (wait-for-port scripts,
 * docker compose and Kubernetes start-ups, test harnesses) must get its STAN connect
 * answered: the Node client does not retry a connect that timed out, and the Go client fails
 * at once on a no-responders status. Proven on 20 starts, with the real Node client and with
 * a raw request as the Go client sends it (headers and no_responders on), both sent the
 * moment the first TCP connect is accepted.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedDb } from './db';
import { freePort, spawnServer, type Proc } from './proc';
import { close, connect } from './stan';
import { connectWhenOpen, RawDiscoverer, startupStoreArgs, type StartupStore } from './startup-probe';

const CID = 'startup-window';
const STARTS = 20;

/** One start: both clients go the instant the port accepts; both must be answered. */
async function startAndConnectAtOnce(procs: Proc[], args: string[], i: number): Promise<void> {
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-cid', CID, ...args]);
  procs.push(proc);
  try {
    const first = await connectWhenOpen(port, () => proc.exit !== undefined);
    // The real Node client, started at once; its connect request is sent exactly once.
    const node = connect(`nats://127.0.0.1:${port}`, CID, `node-${i}`, { connectTimeout: 10000, reconnect: false });
    // The Go client's way on the very first accepted connection: a no-responders status
    // would fail its connect at once.
    const raw = RawDiscoverer.start(first).then((d) => d.request(CID, `raw-${i}`, 10000).finally(() => d.close()));
    // Both settle before anything is asserted: no client is left connecting to a dead server.
    const [nodeResult, rawResult] = await Promise.allSettled([node, raw]);
    if (nodeResult.status === 'fulfilled') await close(nodeResult.value);
    if (rawResult.status === 'rejected') throw new Error(`start ${i}: the raw connect request failed: ${String(rawResult.reason)}\n${proc.output}`);
    const answer = rawResult.value;
    assert.equal(answer.kind, 'response', `start ${i}: got status ${answer.kind === 'status' ? answer.status : ''} instead of a ConnectResponse\n${proc.output}`);
    if (answer.kind === 'response') {
      assert.equal(answer.response.error, '', proc.output);
      assert.equal(answer.response.pubPrefix.startsWith('_STAN.pub.'), true, proc.output);
    }
    if (nodeResult.status === 'rejected') throw new Error(`start ${i}: the Node client's connect failed: ${String(nodeResult.reason)}\n${proc.output}`);
  } finally {
    await proc.kill();
  }
}

/** Registers the test of one store: STARTS starts, each connected to the instant it opens. */
export function startupWindowTest(store: StartupStore): void {
  const procs: Proc[] = [];
  after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
  });
  test(`${store}: ${STARTS} starts, clients connecting the instant the port accepts are answered`, async () => {
    const { first, args, cleanup } = await startupStoreArgs(store, sharedDb);
    try {
      for (let i = 0; i < STARTS; i++) await startAndConnectAtOnce(procs, i === 0 ? first : args, i);
    } finally {
      cleanup();
    }
  });
}
