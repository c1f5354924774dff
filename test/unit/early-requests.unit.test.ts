/**
 * EarlyRequests (src/stan/early-requests.ts): what arrives before the core serves is held,
 * then run in arrival order; a failed start-up answers held connects/pings with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EarlyRequests } from '../../src/stan/early-requests';

test('held requests run in arrival order on release; later ones run at once', () => {
  const early = new EarlyRequests(10);
  const ran: string[] = [];
  early.add(() => ran.push('publish'));
  early.add(
    () => ran.push('connect'),
    () => ran.push('refused'),
  );
  early.add(() => ran.push('ping'));
  assert.equal(ran.length, 0);
  early.release();
  assert.deepEqual(ran, ['publish', 'connect', 'ping']);
  early.add(() => ran.push('after'));
  assert.deepEqual(ran, ['publish', 'connect', 'ping', 'after']);
});

test('a failed start-up answers the held requests that can be refused, drops the rest, refuses later ones', () => {
  const early = new EarlyRequests(10);
  const refused: string[] = [];
  let ran = 0;
  early.add(() => ran++, (why) => refused.push(`connect: ${why}`));
  early.add(() => ran++);
  early.fail('stan: the streaming server failed to start: db down');
  assert.deepEqual(refused, ['connect: stan: the streaming server failed to start: db down']);
  early.add(() => ran++, (why) => refused.push(`ping: ${why}`));
  early.add(() => ran++);
  early.release();
  assert.equal(ran, 0);
  assert.deepEqual(refused, ['connect: stan: the streaming server failed to start: db down', 'ping: stan: the streaming server failed to start: db down']);
});

test('beyond the limit requests are dropped, not held', () => {
  const early = new EarlyRequests(2);
  let ran = 0;
  for (let i = 0; i < 5; i++) early.add(() => ran++);
  early.release();
  assert.equal(ran, 2);
});

test('serving is true only after release, never after a failed start-up', () => {
  const ok = new EarlyRequests(2);
  assert.equal(ok.serving, false);
  ok.release();
  assert.equal(ok.serving, true);
  const failed = new EarlyRequests(2);
  failed.fail('db down');
  assert.equal(failed.serving, false);
  failed.release();
  assert.equal(failed.serving, false, 'a release after the failure does not serve');
});
