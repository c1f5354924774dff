/**
 * src/logging/destination.ts (the text log's sonic-boom, set up as pino.destination() does):
 * a log file gets every line, in order, even when the process exits at once, and a reader
 * that went away (EPIPE on stderr) stops the logging instead of failing the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

const DESTINATION = JSON.stringify(require.resolve('../../src/logging/destination'));

function runNode(code: string, onSpawn: (c: ReturnType<typeof spawn>) => void = () => undefined): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    c.on('error', reject);
    c.on('exit', (exitCode) => resolve({ code: exitCode, stdout }));
    onSpawn(c);
  });
}

test('a log file (in a directory still to be made) holds every line, in order, after an immediate exit', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-log-dest-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sub', 'server.log');
  const code = `const d = require(${DESTINATION}).logDestination({ dest: ${JSON.stringify(file)}, mkdir: true });
    d.on('ready', () => { for (let i = 0; i < 500; i++) d.write('line ' + i + '\\n'); process.exit(0); });`;
  const r = await runNode(code);
  assert.equal(r.code, 0);
  const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines, Array.from({ length: 500 }, (_, i) => `line ${i}`));
});

test('stderr closed by its reader (EPIPE) stops the logging, the process goes on', async () => {
  const code = `const d = require(${DESTINATION}).logDestination({ dest: 2, mkdir: false });
    process.stdout.write('started\\n');
    setTimeout(() => {
      for (let i = 0; i < 2000; i++) d.write('a log line that nobody reads any more ' + i + '\\n');
      process.stdout.write('alive\\n');
    }, 300);`;
  const r = await runNode(code, (c) => {
    c.stdout?.once('data', () => c.stderr?.destroy());
  });
  assert.match(r.stdout, /alive/);
  assert.equal(r.code, 0);
});
