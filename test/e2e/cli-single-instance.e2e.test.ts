/**
 * Start-up single-instance check (spec §1.5), process level: a second server with the same
 * cluster ID on the same NATS (the first server's embedded one, via -ns) refuses to start;
 * with another cluster ID it starts, and both serve their own clients.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { Proc, READY_RE, spawnServer, startServerProc } from '../helpers/proc';
import { close, connect, publish } from '../helpers/stan';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

test('same cluster ID on the same NATS: the second server refuses to start', async () => {
  const first = await startServerProc(['-cid', 'solo', '-SD']);
  procs.push(first.proc);

  const dup = spawnServer(['-cid', 'solo', '-ns', first.url]);
  procs.push(dup);
  const exit = await dup.waitExit(10000);
  assert.notEqual(exit.code, 0, dup.output);
  assert.match(dup.stderr, /discovered another streaming server with cluster ID "solo"/);
  assert.doesNotMatch(dup.stderr, READY_RE);

  // The probe's registration was removed again: the first server still serves, and the
  // cluster ID used as probe client ID is free.
  const sc = await connect(first.url, 'solo', 'solo').catch((e: unknown) => {
    throw new Error(`${String(e)}\n${first.proc.output}\n${dup.output}`);
  });
  await publish(sc, 'x', 'y');
  await close(sc);

  const other = spawnServer(['-cid', 'other', '-ns', first.url]);
  procs.push(other);
  await other.waitForLine(READY_RE);
  assert.match(other.stderr, /STREAM: Connecting to NATS Server at nats:\/\/127\.0\.0\.1:\d+/);
  const sc2 = await connect(first.url, 'other', 'c2');
  await publish(sc2, 'x', 'y');
  await close(sc2);

  assert.equal((await other.stop('SIGINT')).code, 0);
  assert.equal((await first.proc.stop('SIGINT')).code, 0);
});
