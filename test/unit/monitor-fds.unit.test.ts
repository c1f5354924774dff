/** serverz's `open_fds` / `max_fds`: the soft "Max open files" limit as /proc/<pid>/limits shows it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMaxOpenFiles } from '../../src/monitor/fds';

const LIMITS = [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max processes             96553                96553                processes ',
  'Max open files            1024                 1048576              files     ',
  'Max locked memory         8388608              8388608              bytes     ',
].join('\n');

test('max_fds is the soft limit, not the hard one', () => {
  assert.equal(parseMaxOpenFiles(LIMITS), 1024);
});

test('max_fds is 0 (left out of serverz) when unlimited or missing', () => {
  assert.equal(parseMaxOpenFiles(LIMITS.replace('1024     ', 'unlimited')), 0);
  assert.equal(parseMaxOpenFiles('Limit  Soft Limit  Hard Limit  Units\n'), 0);
});
