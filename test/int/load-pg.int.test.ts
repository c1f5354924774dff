/**
 * src/store/sql/load-pg.ts: pg is loaded without Node loading its fetch implementation
 * (undici) for pg's Cloudflare Workers probe, and without leaving a global behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/** What a fresh process reports after loading pg with `how` (the probe needs a process that has not loaded undici yet). */
function afterLoading(how: string): { undici: boolean; navigator: string; parser: string } {
  const code = `${how};
    const undici = process.moduleLoadList.some((m) => m.includes('undici'));
    process.stdout.write(JSON.stringify({ undici, navigator: typeof globalThis.navigator, parser: typeof pg.types.setTypeParser }));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' })) as { undici: boolean; navigator: string; parser: string };
}

test('loadPg gives pg without loading undici, and leaves no navigator global behind', () => {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const ours = afterLoading(`const pg = require(${JSON.stringify(require.resolve('../../src/store/sql/load-pg'))}).loadPg()`);
  assert.equal(ours.parser, 'function');
  assert.equal(ours.undici, false);
  // Node 21+ has a navigator of its own; Node 20 must not get one from us.
  assert.equal(ours.navigator, nodeMajor >= 21 ? 'object' : 'undefined');
  if (nodeMajor < 21) {
    // What the plain require costs on Node 20 (why load-pg exists): the probe loads undici.
    assert.equal(afterLoading(`const pg = require('pg')`).undici, true);
  }
});

test('loadPg puts pg\'s SCRAM login on node:crypto (pg-scram.ts): the functions are replaced in pg itself', () => {
  const load = JSON.stringify(require.resolve('../../src/store/sql/load-pg'));
  const scram = JSON.stringify(require.resolve('../../src/store/sql/pg-scram'));
  const code = `require(${load}).loadPg();
    const utils = require('pg/lib/crypto/utils.js');
    const ours = require(${scram});
    process.stdout.write(JSON.stringify([utils.deriveKey === ours.deriveKey, utils.hmacSha256 === ours.hmacSha256, utils.sha256 === ours.sha256]));`;
  assert.deepEqual(JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' })), [true, true, true]);
});
