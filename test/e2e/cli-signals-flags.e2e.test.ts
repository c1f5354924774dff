/**
 * The real executable: signals and exit codes (spec §9), -h / -v, bad flags and the
 * "not supported yet" guard for features that are not built.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { canConnect, freePort, Proc, READY_RE, runServer, spawnServer, startServerProc } from '../helpers/proc';
import { close, connect, publish } from '../helpers/stan';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

test('SIGTERM: graceful shutdown, exit code 143, and a new server binds the same port at once', async () => {
  const first = await startServerProc([]);
  procs.push(first.proc);
  const sc = await connect(first.url, 'test-cluster', 'term-client');
  await publish(sc, 'term', 'x');
  const exit = await first.proc.stop('SIGTERM');
  assert.equal(exit.code, 143, first.proc.output);
  assert.match(first.proc.stderr, /\[INF\] STREAM: Shutting down\./);
  assert.equal(await canConnect(first.port), false, 'port closed after exit');
  sc.close();

  const second = spawnServer(['-a', '127.0.0.1', '-p', String(first.port)]);
  procs.push(second);
  await second.waitForLine(READY_RE);
  assert.equal(await canConnect(first.port), true);
  const sc2 = await connect(first.url, 'test-cluster', 'term-client');
  await publish(sc2, 'term', 'y');
  await close(sc2);
  assert.equal((await second.stop('SIGINT')).code, 0);
});

test('SIGINT: graceful shutdown, exit code 0', async () => {
  const { proc } = await startServerProc([]);
  procs.push(proc);
  const exit = await proc.stop('SIGINT');
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.match(proc.stderr, /Shutting down\./);
});

test('-h prints the usage on stdout, exit 0', async () => {
  for (const flag of ['-h', '--help']) {
    const { proc, exit } = await runServer([flag]);
    assert.equal(exit.code, 0, proc.output);
    assert.match(proc.stdout, /^Usage: nats-streaming-server \[options\]/);
    assert.match(proc.stdout, /-cid, --cluster_id/);
    assert.match(proc.stdout, /-ns,  --nats_server/);
  }
});

test('-v prints the version, exit 0', async () => {
  for (const flag of ['-v', '--version']) {
    const { proc, exit } = await runServer([flag]);
    assert.equal(exit.code, 0, proc.output);
    assert.match(proc.stdout, /^nats-streaming-server version \d+\.\d+\.\d+/);
  }
});

test('bad flags: non-zero exit with a clear message on stderr, nothing started', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['-p', 'abc'], /invalid value "abc" for flag -p/],
    [['-xyz'], /flag provided but not defined: -xyz/],
    [['-mb', '1XB'], /invalid value "1XB" for flag -mb/],
    [['-mm', '-5'], /max messages limit cannot be negative|invalid value/],
    [['-hbi', 'soon'], /invalid value "soon" for flag -hbi/],
    [['-cid'], /flag needs an argument: -cid/],
  ];
  await Promise.all(
    cases.map(async ([args, re]) => {
      const { proc, exit } = await runServer(args);
      assert.notEqual(exit.code, 0, `${args.join(' ')}\n${proc.output}`);
      assert.match(proc.stderr, re, `${args.join(' ')}\n${proc.output}`);
      assert.doesNotMatch(proc.stderr, /Streaming Server is ready/);
    }),
  );
});

test('an unknown command or stray argument is an error naming it; nothing is started', async () => {
  const port = String(await freePort());
  const cases: Array<[string[], RegExp]> = [
    [['import', 'store.dat'], /the "import" command must come first: nats-streaming-server import --from_dir DIR/],
    [['imprt'], /unknown command or argument "imprt" \(commands: migrate, import, help, version; run "nats-streaming-server -h" for the options\)/],
    [['-SD', 'extra', '-p', '1'], /unknown command or argument "extra"/],
    [['-SD', '--', '-p', '1'], /unknown argument after the flags "-p"/],
  ];
  await Promise.all(
    cases.map(async ([args, re]) => {
      const { proc, exit } = await runServer(['-a', '127.0.0.1', '-p', port, ...args]);
      assert.equal(exit.code, 1, `${args.join(' ')}\n${proc.output}`);
      assert.match(proc.stderr, re, `${args.join(' ')}\n${proc.output}`);
      assert.doesNotMatch(proc.output, /Starting nats-streaming-server|Streaming Server is ready/);
    }),
  );
});

test('bad clustering combinations get their own message before "not supported yet"', async () => {
  const sql = ['--store', 'sql', '--sql_driver', 'postgres', '--sql_source', 'host=127.0.0.1 port=1'];
  const cases: Array<[string[], RegExp]> = [
    [['--clustered'], /stan: clustering mode not supported with MEMORY store type: .*-store sql.*docs\/clustering\.md/],
    [['--store', 'file', '--dir', 'unused-dir', '--clustered'], /clustering mode needs -store sql: .*docs\/clustering\.md/],
    [[...sql, '--clustered', '--ft_group', 'g'], /--ft_group cannot be used with --clustered/],
    [[...sql, '--clustered', '--cluster_node_id', 'bad id'], /invalid node ID "bad id" \(--cluster_node_id\)/],
  ];
  await Promise.all(
    cases.map(async ([args, re]) => {
      const { proc, exit } = await runServer([...args, '-a', '127.0.0.1', '-p', String(await freePort())]);
      assert.notEqual(exit.code, 0, `${args.join(' ')}\n${proc.output}`);
      assert.match(proc.stderr, re, `${args.join(' ')}\n${proc.output}`);
      assert.doesNotMatch(proc.stderr, /not supported yet|Streaming Server is ready/);
    }),
  );
});

test('clustering options the runtime cannot honour stop the server with what to do', async () => {
  const cases: Array<[string[], RegExp]> = [
    // A valid clustered configuration (SQL store) passes the clustering checks, then needs a shared NATS.
    [['--store', 'sql', '--sql_driver', 'postgres', '--sql_source', 'host=127.0.0.1 port=1', '--clustered'], /nodes of a cluster must share one NATS: .*-ns.*--routes/],
    [['--cluster_node_id', 'a', '--cluster_peers', 'b,c'], /--cluster_node_id, --cluster_peers without --clustered: add --clustered/],
    [['--cluster_bootstrap'], /--cluster_bootstrap without --clustered/],
  ];
  await Promise.all(
    cases.map(async ([args, re]) => {
      const { proc, exit } = await runServer([...args, '-a', '127.0.0.1', '-p', String(await freePort())]);
      assert.notEqual(exit.code, 0, `${args.join(' ')}\n${proc.output}`);
      assert.match(proc.stderr, re, `${args.join(' ')}\n${proc.output}`);
      assert.doesNotMatch(proc.stderr, /not supported yet|Streaming Server is ready/);
    }),
  );
});
