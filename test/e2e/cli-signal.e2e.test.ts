/**
 * `-sl/--signal <signal>[=<pid>|=<pidfile>]` against a real running server (spec §9).
 * stop → SIGKILL, quit → SIGINT, reopen → SIGUSR1, reload → SIGHUP (src/cli/signal.ts).
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Proc, runServer, sleep, startServerProc, spawnServer, freePort } from '../helpers/proc';
import { findServerPids } from '../../src/cli/signal';

const procs: Proc[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-signal-'));
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function waitForFileLine(file: string, re: RegExp, timeoutMs = 15000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      /* not there yet */
    }
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${re} in ${file}; content:\n${text}`);
    await sleep(50);
  }
}

test('-sl quit=<pid>: graceful stop, the server exits 0', async () => {
  const { proc } = await startServerProc([]);
  procs.push(proc);
  const { proc: sl, exit } = await runServer(['-sl', `quit=${proc.pid}`]);
  assert.equal(exit.code, 0, sl.output);
  const sexit = await proc.waitExit(10000);
  assert.deepEqual(sexit, { code: 0, signal: null }, proc.output);
  assert.match(proc.stderr, /Shutting down\./);
});

test('--signal stop=<pid>: the server is killed (SIGKILL)', async () => {
  const { proc } = await startServerProc([]);
  procs.push(proc);
  const { proc: sl, exit } = await runServer(['--signal', `stop=${proc.pid}`]);
  assert.equal(exit.code, 0, sl.output);
  const sexit = await proc.waitExit(10000);
  assert.deepEqual(sexit, { code: null, signal: 'SIGKILL' }, proc.output);
});

test('-sl quit=<pidfile> with the file written by -P', async () => {
  const pidFile = path.join(tmp, 'quit.pid');
  const { proc } = await startServerProc(['-P', pidFile]);
  procs.push(proc);
  // The PID file is written right after "ready".
  assert.equal((await waitForFileLine(pidFile, /^\d+$/)).trim(), String(proc.pid));
  const { proc: sl, exit } = await runServer(['-sl', `quit=${pidFile}`]);
  assert.equal(exit.code, 0, sl.output);
  assert.deepEqual(await proc.waitExit(10000), { code: 0, signal: null }, proc.output);
  assert.equal(fs.existsSync(pidFile), false, 'PID file removed on graceful stop');
});

test('-sl reopen=<pid> with -l: the renamed log file is replaced by a new one', async () => {
  const logFile = path.join(tmp, 'stan.log');
  const port = await freePort();
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), '-l', logFile]);
  procs.push(proc);
  await waitForFileLine(logFile, /Streaming Server is ready/);
  const rotated = `${logFile}.1`;
  fs.renameSync(logFile, rotated);
  const { proc: sl, exit } = await runServer(['-sl', `reopen=${proc.pid}`]);
  assert.equal(exit.code, 0, sl.output);
  const fresh = await waitForFileLine(logFile, /Reopened log file/);
  assert.doesNotMatch(fresh, /Streaming Server is ready/, 'the new file starts after the reopen');
  assert.match(fs.readFileSync(rotated, 'utf8'), /Streaming Server is ready/);
  assert.equal(proc.exit, undefined, 'the server keeps running');
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});

test('-sl reload=<pid>: the server reloads its configuration and keeps running', async () => {
  const { proc } = await startServerProc([]);
  procs.push(proc);
  const { proc: sl, exit } = await runServer(['-sl', `reload=${proc.pid}`]);
  assert.equal(exit.code, 0, sl.output);
  await proc.waitForLine(/\[INF\] STREAM: Reloaded server configuration \(no runtime changes\)/);
  assert.equal(proc.exit, undefined);
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});

test('without =<pid>: running servers are found from /proc', async () => {
  const { proc } = await startServerProc([]);
  procs.push(proc);
  assert.ok(findServerPids().includes(proc.pid), `pid ${proc.pid} found`);
  assert.ok(!findServerPids().includes(process.pid), 'the test runner is not a server');
  await proc.stop('SIGINT');
  assert.ok(!findServerPids().includes(proc.pid), 'exited server no longer listed');
});

test('bad -sl inputs: non-zero exit with a clear message', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['-sl', 'bogus'], /unknown signal "bogus"/],
    [['-sl', 'quit=999999'], /unable to send signal quit to pid 999999: no such process/],
    [['-sl', 'quit=/nonexistent/dir/x.pid'], /invalid pid/],
    [['-sl', 'quit=1=2'], /invalid signal parameters/],
  ];
  for (const [args, re] of cases) {
    const { proc, exit } = await runServer(args);
    assert.notEqual(exit.code, 0, `${args.join(' ')}\n${proc.output}`);
    assert.match(proc.stderr, re, `${args.join(' ')}\n${proc.output}`);
  }
});
