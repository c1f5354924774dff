/**
 * The real executable, started as operators do: start-up log lines, a real STAN client
 * (node-nats-streaming) against it, the cluster ID flag and the logging flags.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, Proc, READY_RE, spawnServer, startServerProc, waitForPort } from '../helpers/proc';
import { close, Collector, connect, publish, subscribe } from '../helpers/stan';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

function track<T extends { proc: Proc }>(r: T): T {
  procs.push(r.proc);
  return r;
}

test('start-up prints the reference lines; a real STAN client publishes and subscribes', async () => {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port)]);
  procs.push(proc);
  const acceptMs = await waitForPort(port, 15000);
  // Measured, not asserted: spawn → first accepted TCP connection.
  console.log(`# spawn to first accepted TCP connection: ${acceptMs.toFixed(1)} ms (total ${(performance.now() - t0).toFixed(1)} ms)`);
  await proc.waitForLine(READY_RE);

  const expected: RegExp[] = [
    /^\[\d+\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} \[INF\] STREAM: Starting nats-streaming-server\[test-cluster\] version \S+$/,
    /\[INF\] STREAM: ServerID: \S+$/,
    /\[INF\] STREAM: Recovering the state\.\.\.$/,
    /\[INF\] STREAM: No recovered state$/,
    /\[INF\] STREAM: Message store is MEMORY$/,
    /\[INF\] STREAM: ---------- Store Limits ----------$/,
    /\[INF\] STREAM: Channels:\s+100 \*$/,
    /\[INF\] STREAM: --------- Channels Limits --------$/,
    /\[INF\] STREAM:   Subscriptions:\s+1000 \*$/,
    /\[INF\] STREAM:   Messages     :\s+1000000 \*$/,
    /\[INF\] STREAM:   Bytes        :\s+976\.56 MB \*$/,
    /\[INF\] STREAM:   Age          :\s+unlimited \*$/,
    /\[INF\] STREAM:   Inactivity   :\s+unlimited \*$/,
    /\[INF\] STREAM: ----------------------------------$/,
    READY_RE,
  ];
  // In this order, on stderr, with our pid.
  let from = 0;
  for (const re of expected) {
    const idx = proc.stderrLines.findIndex((l, i) => i >= from && re.test(l));
    assert.ok(idx >= 0, `missing (in order) ${re}\n${proc.output}`);
    assert.ok(proc.stderrLines[idx].startsWith(`[${proc.pid}] `), proc.stderrLines[idx]);
    from = idx + 1;
  }
  assert.equal(proc.stdout, '', 'nothing on stdout');

  const url = `nats://127.0.0.1:${port}`;
  const sc = await connect(url, 'test-cluster', 'cli-client');
  try {
    const sub = await subscribe(sc, 'cli.foo', sc.subscriptionOptions().setDeliverAllAvailable());
    const col = new Collector(sub);
    await publish(sc, 'cli.foo', 'one');
    await publish(sc, 'cli.foo', 'two');
    await col.waitFor(2);
    assert.deepEqual(col.datas(), ['one', 'two']);
    assert.deepEqual(col.seqs(), [1, 2]);
  } finally {
    await close(sc);
  }
  assert.equal((await proc.stop('SIGINT')).code, 0);
});

test('-cid changes the cluster ID', async () => {
  const { proc, url } = track(await startServerProc(['-cid', 'foo']));
  await proc.waitForLine(/STREAM: Starting nats-streaming-server\[foo\] version/);
  const sc = await connect(url, 'foo', 'cid-client');
  await publish(sc, 'x', 'y');
  await close(sc);
  await assert.rejects(connect(url, 'test-cluster', 'cid-client2', { connectTimeout: 300 }), /connect request timeout/);
  assert.equal((await proc.stop('SIGINT')).code, 0);
});

test('-T=false removes the timestamps', async () => {
  const { proc } = track(await startServerProc(['-T=false']));
  const line = await proc.waitForLine(READY_RE);
  assert.equal(line, `[${proc.pid}] [INF] STREAM: Streaming Server is ready`);
  for (const l of proc.stderrLines) assert.doesNotMatch(l, /\d{4}\/\d\d\/\d\d/, l);
  await proc.stop('SIGINT');
});

test('-SD logs client lifecycle at debug level; without it there is none', async () => {
  const dbg = track(await startServerProc(['-SD']));
  const plain = track(await startServerProc([]));
  for (const s of [dbg, plain]) {
    const sc = await connect(s.url, 'test-cluster', 'sd-client');
    await close(sc);
  }
  await dbg.proc.waitForLine(/\[DBG\] STREAM: \[Client:sd-client\] Connected \(Inbox=_INBOX\.\S+\)$/);
  await dbg.proc.waitForLine(/\[DBG\] STREAM: \[Client:sd-client\] Closed \(Inbox=_INBOX\.\S+\)$/);
  await plain.proc.stop('SIGINT');
  assert.ok(!plain.proc.stderrLines.some((l) => l.includes('[DBG]')), plain.proc.output);
  await dbg.proc.stop('SIGINT');
});

test('-SV logs publish/delivery/ack traces', async () => {
  const { proc, url } = track(await startServerProc(['-SV']));
  const sc = await connect(url, 'test-cluster', 'sv-client');
  const sub = await subscribe(sc, 'sv.foo', sc.subscriptionOptions().setDeliverAllAvailable());
  const col = new Collector(sub);
  await publish(sc, 'sv.foo', 'hello');
  await col.waitFor(1);
  await proc.waitForLine(/\[TRC\] STREAM: \[Client:sv-client\] Received message from publisher subj=sv\.foo guid=\S+/);
  await proc.waitForLine(/\[TRC\] STREAM: \[Client:sv-client\] Processing ack for subid=\d+, subject=sv\.foo, seq=1/);
  await close(sc);
  await proc.stop('SIGINT');
});

test('-l writes the log to a file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-cli-log-'));
  const file = path.join(dir, 'sub', 'stan.log');
  try {
    // The ready line goes to the file, not stderr: wait for the port instead.
    const port = await freePort();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-l', file]);
    procs.push(proc);
    await waitForPort(port, 15000);
    const deadline = Date.now() + 5000;
    let content = '';
    while (Date.now() < deadline) {
      content = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
      if (READY_RE.test(content)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Lines reach the file while the server runs (operators tail it), not only at exit.
    assert.match(content, READY_RE, `ready line not in ${file} while running`);
    assert.equal((await proc.stop('SIGINT')).code, 0);
    content = fs.readFileSync(file, 'utf8');
    assert.match(content, /\[INF\] STREAM: Starting nats-streaming-server\[test-cluster\]/);
    assert.match(content, READY_RE);
    assert.match(content, /\[INF\] STREAM: Shutting down\./);
    assert.ok(!proc.stderrLines.some((l) => READY_RE.test(l)), `log lines leaked to stderr\n${proc.output}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--log_json prints JSON lines', async () => {
  const { proc } = track(await startServerProc(['--log_json'], /Streaming Server is ready/));
  await proc.stop('SIGINT');
  const lines = proc.stderrLines.filter((l) => l.trim() !== '');
  assert.ok(lines.length > 5, proc.output);
  const objs = lines.map((l) => JSON.parse(l) as { msg?: unknown; pid?: unknown; level?: unknown });
  const ready = objs.find((o) => o.msg === 'Streaming Server is ready');
  assert.ok(ready, proc.output);
  assert.equal(ready.pid, proc.pid);
  assert.ok(objs.some((o) => typeof o.msg === 'string' && o.msg.startsWith('Starting nats-streaming-server[test-cluster]')));
});
