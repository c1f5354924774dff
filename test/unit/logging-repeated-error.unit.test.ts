import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepeatedErrorLog } from '../../src/logging/repeated-error';
import { captureLogger } from '../helpers/nats-helpers';

test('an outage logs its first error, one summary per interval, and its end', () => {
  const log = captureLogger();
  let now = 1_000_000;
  const r = new RepeatedErrorLog(log, 'Store error', 'Store', 30_000, () => now);
  // 5 failures a second for 65 s.
  for (let i = 0; i < 325; i++) {
    r.error(i % 2 === 0 ? 'connect ECONNREFUSED 127.0.0.1:5432' : 'Connection terminated unexpectedly');
    now += 200;
  }
  assert.equal(r.failing, true);
  r.ok();
  assert.equal(r.failing, false);
  assert.deepEqual(log.lines, [
    'ERR Store error: connect ECONNREFUSED 127.0.0.1:5432',
    'ERR Store error (still failing, 150 more error(s) in the last 30 s): connect ECONNREFUSED 127.0.0.1:5432',
    'ERR Store error (still failing, 150 more error(s) in the last 30 s): connect ECONNREFUSED 127.0.0.1:5432',
    'INF Store working again after 325 error(s) over 65.0 s',
  ]);
  // A new incident starts over with a full first line; a success without an incident says nothing.
  r.ok();
  r.error('disk full');
  assert.equal(log.lines.at(-1), 'ERR Store error: disk full');
  assert.equal(log.lines.length, 5);
});
