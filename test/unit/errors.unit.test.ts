import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorText, toError, isStanServerError, StanServerError } from '../../src/errors';
import { ConfigError } from '../../src/config/errors';
import { StoreError } from '../../src/store/contract';
import { LeaseLostError } from '../../src/ft/lease';
import { DataSourceError } from '../../src/store/sql/dsn-common';
import { RequestTimeoutError } from '../../src/nats/transport';

test('errorText gives the message of an Error and the string of anything else', () => {
  assert.equal(errorText(new Error('boom')), 'boom');
  assert.equal(errorText('plain'), 'plain');
  assert.equal(errorText(42), '42');
});

test('toError keeps an Error and wraps anything else', () => {
  const e = new Error('x');
  assert.equal(toError(e), e);
  assert.equal(toError('y').message, 'y');
});

test('the server errors share one base and keep their names and messages', () => {
  const cases: Array<[StanServerError, string, string]> = [
    [new ConfigError('bad flag'), 'ConfigError', 'configuration'],
    [new StoreError('gone'), 'StoreError', 'store'],
    [new LeaseLostError('lost'), 'LeaseLostError', 'ft-lease'],
    [new DataSourceError('dsn'), 'DataSourceError', 'data-source'],
    [new RequestTimeoutError('a.b'), 'RequestTimeoutError', 'nats'],
  ];
  for (const [err, name, kind] of cases) {
    assert.ok(err instanceof Error);
    assert.ok(isStanServerError(err));
    assert.equal(err.name, name);
    assert.equal(err.kind, kind);
  }
  assert.equal(new RequestTimeoutError('a.b').message, 'nats: timeout on request to a.b');
  assert.equal(isStanServerError(new Error('bug')), false);
});
