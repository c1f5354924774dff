/** The session rules of libpq's target_session_attrs (src/store/sql/pg-multihost.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostLabel, NoFittingHostError, sessionFits, type PgSessionState } from '../../src/store/sql/pg-multihost';

const primary: PgSessionState = { inRecovery: false, readOnly: false };
const roPrimary: PgSessionState = { inRecovery: false, readOnly: true };
const standby: PgSessionState = { inRecovery: true, readOnly: true };

test('target_session_attrs: which sessions fit', () => {
  const table: Array<[Parameters<typeof sessionFits>[0], PgSessionState, boolean, boolean]> = [
    // target, session, fits on the strict pass, fits on the second pass
    [undefined, standby, true, true],
    ['read-write', primary, true, true],
    ['read-write', roPrimary, false, false],
    ['read-write', standby, false, false],
    ['read-only', roPrimary, true, true],
    ['read-only', standby, true, true],
    ['read-only', primary, false, false],
    ['primary', roPrimary, true, true],
    ['primary', standby, false, false],
    ['standby', standby, true, true],
    ['standby', primary, false, false],
    ['prefer-standby', standby, true, true],
    ['prefer-standby', primary, false, true],
  ];
  for (const [target, s, strict, loose] of table) {
    assert.equal(sessionFits(target, s, true), strict, `${String(target)} ${JSON.stringify(s)} strict`);
    assert.equal(sessionFits(target, s, false), loose, `${String(target)} ${JSON.stringify(s)} second pass`);
  }
});

test('errors name every host tried and what to check', () => {
  const e = new NoFittingHostError('read-write', [`${hostLabel({ host: 'a', port: 1 })}: ECONNREFUSED`, `${hostLabel({ host: '::1', port: 2 })} is a standby`]);
  assert.match(e.message, /with target_session_attrs=read-write: a:1: ECONNREFUSED; \[::1\]:2 is a standby; check that the servers run/);
  assert.equal(hostLabel({ host: 'localhost', port: 5433, socketPath: '/run/pg' }), '/run/pg/.s.PGSQL.5433');
});
