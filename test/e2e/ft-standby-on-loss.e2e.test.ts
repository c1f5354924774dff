/**
 * --ft_standby_on_loss (issue 4 item 2): a server that lost the lease goes back to standby
 * instead of exiting, and can become active again later.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RealNatsServer } from '../helpers/nats-server';
import { ACTIVE_RE, ftStore, spawnFt, STANDBY_RE, STEP_DOWN_RE, waitActive, connectClient } from '../helpers/ft';
import type { Proc } from '../helpers/proc';
import { close, publish, until } from '../helpers/stan';

let nats: RealNatsServer;
const procs: Proc[] = [];

before(async () => {
  nats = await RealNatsServer.start();
});
after(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await nats.stop();
});

function count(p: Proc, re: RegExp): number {
  return [...p.stdoutLines, ...p.stderrLines].filter((l) => re.test(l)).length;
}

test('a server that lost the lease with --ft_standby_on_loss goes back to standby and can take over again', async () => {
  const store = await ftStore('file');
  const cid = 'ft-sol';
  const group = 'sol';
  const a = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store, extra: ['--ft_standby_on_loss'] });
  procs.push(a);
  const epochA = await waitActive(a);
  const b = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store });
  procs.push(b);

  // Pause A past its lease: B takes over.
  a.child.kill('SIGSTOP');
  const epochB = await waitActive(b, 15000);
  assert.equal(epochB, epochA + 1);
  await new Promise((r) => setTimeout(r, 2000));
  a.child.kill('SIGCONT');

  // A steps down, does not exit, and is a standby again.
  await a.waitForLine(STEP_DOWN_RE, { timeoutMs: 10000 });
  await until(() => count(a, STANDBY_RE) >= 2, 10000, 'A back in standby');
  assert.equal(a.child.exitCode, null, `A is still running\n${a.output}`);

  // B stops cleanly: A becomes active again and serves.
  b.child.kill('SIGTERM');
  await until(() => count(a, ACTIVE_RE) >= 2, 10000, 'A active again');
  await until(() => count(a, /Streaming Server is ready/) >= 2, 10000, 'A ready again');
  const sc = await connectClient(nats.url, cid, 'sol-client');
  await publish(sc, 'sol.x', 'after');
  await close(sc);
});

test('a stop while back in standby (--ft_standby_on_loss) removes the pid file and exits 143', async () => {
  const store = await ftStore('file');
  const cid = 'ft-sol-pid';
  const group = 'solpid';
  const pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'stan-sol-')), 'a.pid');
  const a = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store, extra: ['--ft_standby_on_loss', '-P', pidFile] });
  procs.push(a);
  await waitActive(a);
  // Written just after "ready".
  await until(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8') === String(a.pid), 10000, 'pid file written');
  const b = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store });
  procs.push(b);
  a.child.kill('SIGSTOP');
  await waitActive(b, 15000);
  a.child.kill('SIGCONT');
  await a.waitForLine(STEP_DOWN_RE, { timeoutMs: 10000 });
  await until(() => count(a, STANDBY_RE) >= 2, 10000, 'A back in standby');

  a.child.kill('SIGTERM');
  const exit = await a.waitExit(10000);
  assert.equal(exit.code, 143, a.output);
  assert.equal(fs.existsSync(pidFile), false, 'pid file removed');
  b.child.kill('SIGTERM');
  // B still writes its store while it stops: removing the directory under it failed with ENOTEMPTY.
  await b.waitExit(10000);
  await store.cleanup();
});
