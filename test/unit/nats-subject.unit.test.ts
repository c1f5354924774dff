import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  hasWildcards,
  isValidLiteralSubject,
  isValidQueueName,
  isValidSubject,
  subjectMatches,
} from '../../src/subject';
import { Nuid, nuid } from '../../src/nats/embedded/nuid';

test('valid subjects', () => {
  for (const s of ['foo', 'foo.bar', 'foo.*', '*', '>', 'foo.>', '*.*.>', 'foo*', '*bar', 'a.$b-c_d', 'héllo.wörld']) {
    assert.ok(isValidSubject(s), s);
  }
  for (const s of ['', '.', 'foo.', '.foo', 'foo..bar', 'foo.>.bar', '>.foo', 'a b', 'a\tb', 'a\rb', 'a\nb', 'a\fb']) {
    assert.ok(!isValidSubject(s), JSON.stringify(s));
  }
});

test('literal subjects', () => {
  assert.ok(isValidLiteralSubject('foo.bar'));
  assert.ok(isValidLiteralSubject('foo*.b>'));
  assert.ok(!isValidLiteralSubject('foo.*'));
  assert.ok(!isValidLiteralSubject('foo.>'));
  assert.ok(!isValidLiteralSubject('foo..bar'));
  assert.ok(!isValidLiteralSubject(''));
  assert.ok(hasWildcards('a.*'));
  assert.ok(!hasWildcards('a.b'));
});

test('queue names', () => {
  assert.ok(isValidQueueName('workers'));
  assert.ok(!isValidQueueName(''));
  assert.ok(!isValidQueueName('a b'));
});

test('subjectMatches', () => {
  assert.ok(subjectMatches('foo.*', 'foo.bar'));
  assert.ok(!subjectMatches('foo.*', 'foo.bar.baz'));
  assert.ok(subjectMatches('foo.>', 'foo.bar.baz'));
  assert.ok(!subjectMatches('foo.>', 'foo'));
  assert.ok(subjectMatches('>', 'x'));
  assert.ok(subjectMatches('a.b', 'a.b'));
  assert.ok(!subjectMatches('a.b', 'a.c'));
  assert.ok(!subjectMatches('a', 'a.b'));
});

test('nuid: 22 base-62 chars, unique, shared prefix per generator', () => {
  const n = new Nuid();
  const seen = new Set<string>();
  let prev = '';
  for (let i = 0; i < 10000; i++) {
    const id = n.next();
    assert.match(id, /^[0-9A-Za-z]{22}$/);
    assert.ok(!seen.has(id));
    seen.add(id);
    if (prev !== '') assert.equal(id.slice(0, 12), prev.slice(0, 12));
    prev = id;
  }
  assert.notEqual(new Nuid().next().slice(0, 12), n.next().slice(0, 12));
  assert.equal(nuid().length, 22);
});
