/**
 * SIGHUP configuration reload of our executable (spec stan §9): the NATS configuration
 * file is edited, the process gets SIGHUP (directly or through `-sl reload=<pid>`) and
 * re-reads it with its original arguments.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rawConnected, RawClient } from '../helpers/nats-helpers';
import { RealNatsServer } from '../helpers/nats-server';
import { freePort, runServer, startServerProc, type Proc } from '../helpers/proc';
import { close, Collector, connect, opts, publish, subscribe, waitEvent, type Stan } from '../helpers/stan';

const procs: Proc[] = [];
const clients: Stan[] = [];
const natsServers: RealNatsServer[] = [];
after(async () => {
  for (const sc of clients) await close(sc).catch(() => undefined);
  for (const p of procs) await p.kill();
  for (const n of natsServers) await n.stop();
});

function confFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reload-'));
  const f = path.join(dir, 'nats.conf');
  fs.writeFileSync(f, text);
  return f;
}

async function refused(port: number, user: string, pass: string): Promise<void> {
  const c = await RawClient.connect(port);
  await c.waitFor('\r\n');
  c.send(`CONNECT ${JSON.stringify({ verbose: false, user, pass })}\r\nPING\r\n`);
  await c.waitClosed(5000);
  assert.equal(c.afterInfo, "-ERR 'Authorization Violation'\r\n", `${user} refused`);
}

/** Counts matching lines so far, to wait for the next one after a SIGHUP. */
function countLines(proc: Proc, re: RegExp): number {
  return [...proc.stdoutLines, ...proc.stderrLines].filter((l) => re.test(l)).length;
}

async function nextLine(proc: Proc, re: RegExp, before: number, timeoutMs = 10000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = [...proc.stdoutLines, ...proc.stderrLines].filter((l) => re.test(l));
    if (all.length > before) return all[before];
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${re}\n${proc.output}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGHUP: a removed user is disconnected, an added user can connect, permissions and -D are applied, fixed options are warned about', async () => {
  const conf = confFile(`authorization {
  users: [
    { user: alice, password: apw }
    { user: bob, password: bpw }
  ]
}
`);
  const { proc, url, port } = await startServerProc(['-c', conf]);
  procs.push(proc);
  const bobRaw = await rawConnected(port, { verbose: false, pedantic: false, user: 'bob', pass: 'bpw' });
  const bobStan = await connect(url, 'test-cluster', 'bob-stan', { user: 'bob', pass: 'bpw' });
  clients.push(bobStan);
  const bobStanError = waitEvent<unknown>(bobStan, 'error', 20000);
  const aliceRaw = await rawConnected(port, { verbose: false, pedantic: false, user: 'alice', pass: 'apw' });
  aliceRaw.send('SUB foo.x 1\r\nSUB bar 2\r\n');
  await aliceRaw.sync();
  await refused(port, 'carol', 'cpw');

  fs.writeFileSync(
    conf,
    `debug: true
max_payload: 2MB
authorization {
  users: [
    { user: alice, password: apw, permissions: { subscribe: { allow: ["bar", "_INBOX.>"] } } }
    { user: carol, password: cpw }
  ]
}
`,
  );
  const reloaded = /\[INF\] STREAM: Reloaded server configuration/;
  const before = countLines(proc, reloaded);
  process.kill(proc.pid, 'SIGHUP');
  const line = await nextLine(proc, reloaded, before);
  assert.match(line, /Reloaded server configuration \(authorization users, debug \(-D\)\)$/);
  await proc.waitForLine(/\[WRN\] STREAM: Reload: option max_payload cannot be changed at runtime; keeping the running value/);
  await proc.waitForLine(/\[INF\] STREAM: Reload: closed 2 connection\(s\) whose credentials are no longer valid/);

  // bob: both of his connections are closed with Authorization Violation.
  await bobRaw.waitClosed(5000);
  assert.equal(bobRaw.afterInfo, "PONG\r\n-ERR 'Authorization Violation'\r\n");
  assert.match(String(await bobStanError), /Authorization Violation/);
  await refused(port, 'bob', 'bpw');
  // alice stays connected and loses the subscription her new permissions do not allow.
  await aliceRaw.sync();
  assert.equal(aliceRaw.afterInfo, `PONG\r\nPONG\r\n-ERR 'Permissions Violation for Subscription to "foo.x"'\r\nPONG\r\n`);
  // carol is new; the NATS debug log (-D, from the file) is on now.
  const carol = await connect(url, 'test-cluster', 'carol-stan', { user: 'carol', pass: 'cpw' });
  clients.push(carol);
  const col = new Collector(await subscribe(carol, 'orders', opts(carol, (o) => o.setDeliverAllAvailable())));
  await publish(carol, 'orders', 'after-reload');
  assert.deepEqual((await col.waitFor(1)).map((m) => String(m.getData())), ['after-reload']);
  await proc.waitForLine(/\[DBG\] 127\.0\.0\.1:\d+ - cid:\d+ - Client connection created/);
  // max_payload kept its running value.
  const probe = await RawClient.connect(port);
  assert.match(await probe.waitFor('\r\n'), /"max_payload":1048576/);
  probe.close();
  aliceRaw.close();
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});

test('SIGHUP with a broken configuration file logs an error and keeps serving with the running configuration', async () => {
  const conf = confFile('authorization { users: [ { user: alice, password: apw } ] }\n');
  const { proc, url, port } = await startServerProc(['-c', conf]);
  procs.push(proc);
  const alice = await connect(url, 'test-cluster', 'alice-1', { user: 'alice', pass: 'apw' });
  clients.push(alice);

  for (const [broken, why] of [
    ['authorization { users: [ { user: alice, password: apw ] }\n', /\[ERR\] STREAM: Reload: .*keeping the running configuration/],
    ['authorization { token: t, users: [ { user: alice, password: apw } ] }\n', /\[ERR\] STREAM: Reload: .*Can not have a token and a users array; keeping the running configuration/],
    ['no_auth_user: ghost\nauthorization { users: [ { user: alice, password: apw } ] }\n', /\[ERR\] STREAM: Reload: invalid authorization: no_auth_user: "ghost" not present as user.*; keeping the running configuration/],
  ] as const) {
    fs.writeFileSync(conf, broken);
    const before = countLines(proc, why);
    process.kill(proc.pid, 'SIGHUP');
    await nextLine(proc, why, before);
    assert.equal(proc.exit, undefined, 'still running');
    await publish(alice, 'orders', 'still-served');
    await refused(port, 'bob', 'x');
  }
  // -sl reload=<pid> goes the same way, and a fixed file is applied.
  fs.writeFileSync(conf, 'authorization { users: [ { user: alice, password: apw }, { user: bob, password: bpw } ] }\n');
  const { exit } = await runServer(['-sl', `reload=${proc.pid}`]);
  assert.equal(exit.code, 0);
  await proc.waitForLine(/Reloaded server configuration \(authorization users\)/);
  (await rawConnected(port, { verbose: false, pedantic: false, user: 'bob', pass: 'bpw' })).close();
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});

test('SIGHUP with an external NATS server (-ns) only logs that reload needs the embedded server', async () => {
  const nats = await RealNatsServer.start();
  natsServers.push(nats);
  const { proc } = await startServerProc(['-ns', nats.url]);
  procs.push(proc);
  process.kill(proc.pid, 'SIGHUP');
  await proc.waitForLine(/\[WRN\] STREAM: Reload supported only for embedded NATS Server's configuration/);
  assert.equal(proc.exit, undefined);
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});

test('SIGHUP with a nats-server child (NATS cluster options): users change in the child; changing the streaming server\'s own credentials is refused', async () => {
  const clusterPort = await freePort();
  const natsConf = (users: string): string => `cluster { listen: "127.0.0.1:${clusterPort}" }
authorization {
  users: [
${users}
  ]
}
`;
  const conf = confFile(natsConf('    { user: stan, password: spw }\n    { user: bob, password: bpw }'));
  // Separate streaming file: a top-level cluster block in a combined file would also mean Raft clustering.
  const sconf = path.join(path.dirname(conf), 'stan.conf');
  fs.writeFileSync(sconf, 'username: stan\npassword: spw\n');
  const { proc, url, port } = await startServerProc(['-c', conf, '-sc', sconf]);
  procs.push(proc);
  await refused(port, 'carol', 'cpw');

  // logtime configures our own log output, not the child: kept and warned about.
  fs.writeFileSync(conf, `logtime: false\n${natsConf('    { user: stan, password: spw }\n    { user: bob, password: bpw }\n    { user: carol, password: cpw }')}`);
  const ours = /\[INF\] STREAM: Reloaded server configuration \(nats-server: authorization users\)$/;
  let before = countLines(proc, ours);
  process.kill(proc.pid, 'SIGHUP');
  await nextLine(proc, ours, before);
  await proc.waitForLine(/\[WRN\] STREAM: Reload: option logtime cannot be changed at runtime/);
  const carol = await connect(url, 'test-cluster', 'carol-stan', { user: 'carol', pass: 'cpw' });
  clients.push(carol);
  const col = new Collector(await subscribe(carol, 'orders', opts(carol, (o) => o.setDeliverAllAvailable())));
  await publish(carol, 'orders', 'through-the-child');
  assert.deepEqual((await col.waitFor(1)).map((m) => String(m.getData())), ['through-the-child']);

  // The streaming server's own password would change under it: refused, nothing sent to the child.
  fs.writeFileSync(conf, `logtime: false\n${natsConf('    { user: stan, password: other }\n    { user: carol, password: cpw }')}`);
  const refusedRe = /\[ERR\] STREAM: Reload: error: the new authorization changes the credentials the streaming server itself connects/;
  before = countLines(proc, refusedRe);
  process.kill(proc.pid, 'SIGHUP');
  await nextLine(proc, refusedRe, before);
  await publish(carol, 'orders', 'still-served');
  assert.deepEqual((await col.waitFor(2)).map((m) => String(m.getData())), ['through-the-child', 'still-served']);
  // bob was not removed: the refused file never reached the child.
  (await rawConnected(port, { verbose: false, pedantic: false, user: 'bob', pass: 'bpw' })).close();
  assert.deepEqual(await proc.stop('SIGINT'), { code: 0, signal: null }, proc.output);
});
