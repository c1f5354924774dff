/**
 * The real executable with a configuration file (`-sc`): its values take effect, command-line
 * flags override them, and a broken file is reported with file:line.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Proc, runServer, startServerProc } from '../helpers/proc';
import { close, connect, publish } from '../helpers/stan';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-cli-conf-'));
const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function writeConf(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const GOOD = `# streaming configuration
streaming {
  cluster_id: "cfg-cluster"
  store_limits {
    max_channels: 2
    max_msgs: 50
  }
}
`;

test('-sc: cluster_id and store_limits from the file take effect', async () => {
  const conf = writeConf('good.conf', GOOD);
  const { proc, url } = await startServerProc(['-sc', conf]);
  procs.push(proc);
  assert.match(proc.stderr, /STREAM: Starting nats-streaming-server\[cfg-cluster\] version/);
  assert.match(proc.stderr, /STREAM: Channels:\s+2\s*$/m);
  assert.match(proc.stderr, /STREAM:   Messages     :\s+50\s*$/m);
  assert.match(proc.stderr, /STREAM:   Subscriptions:\s+1000 \*$/m, 'not given: inherited default marked *');

  const sc = await connect(url, 'cfg-cluster', 'conf-client');
  try {
    await publish(sc, 'a', '1');
    await publish(sc, 'b', '1');
    await assert.rejects(publish(sc, 'c', '1'), /too many channels/);
  } finally {
    await close(sc);
  }
  await proc.stop('SIGINT');
});

test('command-line flags override the file', async () => {
  const conf = writeConf('good2.conf', GOOD);
  const { proc, url } = await startServerProc(['-sc', conf, '-cid', 'cli-wins', '-mc', '5']);
  procs.push(proc);
  assert.match(proc.stderr, /STREAM: Starting nats-streaming-server\[cli-wins\] version/);
  assert.match(proc.stderr, /STREAM: Channels:\s+5\s*$/m);
  assert.match(proc.stderr, /STREAM:   Messages     :\s+50\s*$/m, 'file value kept where no flag overrides it');
  const sc = await connect(url, 'cli-wins', 'conf-client2');
  await close(sc);
  await assert.rejects(connect(url, 'cfg-cluster', 'conf-client3', { connectTimeout: 300 }), /connect request timeout/);
  await proc.stop('SIGINT');
});

test('a broken configuration file: non-zero exit, message with file:line', async () => {
  const syntax = writeConf('syntax.conf', 'streaming {\n  cluster_id: "x"\n  store_limits: { max_msgs: 1x0 }\n}\n');
  const r1 = await runServer(['-sc', syntax]);
  assert.notEqual(r1.exit.code, 0, r1.proc.output);
  assert.match(r1.proc.stderr, new RegExp(`${syntax.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: .*1x0`));

  const unterminated = writeConf('unterminated.conf', 'streaming: {\n  cluster_id = [\n');
  const r2 = await runServer(['-sc', unterminated]);
  assert.notEqual(r2.exit.code, 0, r2.proc.output);
  assert.match(r2.proc.stderr, /unterminated\.conf:\d+(:\d+)?: /);

  const missing = path.join(dir, 'missing.conf');
  const r3 = await runServer(['-sc', missing]);
  assert.notEqual(r3.exit.code, 0, r3.proc.output);
  assert.match(r3.proc.stderr, /missing\.conf/);
  for (const r of [r1, r2, r3]) assert.doesNotMatch(r.proc.stderr, /Streaming Server is ready/);
});
