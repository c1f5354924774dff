/** The permission matcher of the embedded NATS server (spec nats-core §5.2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  covers,
  invalidPermissionEntry,
  overlaps,
  Permissions,
  ResponseTracker,
  validatePermissions,
} from '../../src/nats/embedded/permissions';

const t = (s: string): string[] => s.split('.');

test('covers: an allow pattern covers a subscription subject only if it grants all its subjects', () => {
  const cases: [string, string, boolean][] = [
    ['foo.>', 'foo.bar', true],
    ['foo.>', 'foo.*', true],
    ['foo.>', 'foo.>', true],
    ['foo.>', 'foo', false],
    ['foo.*', 'foo.bar', true],
    ['foo.*', 'foo.*', true],
    ['foo.*', 'foo.>', false],
    ['foo.*', 'foo.bar.baz', false],
    ['foo.bar', 'foo.*', false],
    ['>', 'anything.at.all', true],
    ['*.bar', 'foo.bar', true],
    ['*.bar', '*.bar', true],
    ['*.bar', 'foo.*', false],
  ];
  for (const [p, s, want] of cases) assert.equal(covers(t(p), t(s)), want, `${p} covers ${s}`);
});

test('overlaps: two patterns share at least one subject', () => {
  const cases: [string, string, boolean][] = [
    ['foo.secret', '>', true],
    ['foo.secret', 'foo.*', true],
    ['foo.secret', 'bar.*', false],
    ['foo.>', '*.bar', true],
    ['foo', 'foo.>', false],
    ['foo.*.baz', 'foo.bar.*', true],
    ['a.b', 'a.b.c', false],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(overlaps(t(a), t(b)), want, `${a} ~ ${b}`);
    assert.equal(overlaps(t(b), t(a)), want, `${b} ~ ${a}`);
  }
});

test('publish: allow list with wildcards, deny wins, no allow list = all but denied', () => {
  const p = new Permissions({ publish: { allow: ['foo.>', 'bar'], deny: ['foo.secret'] } });
  assert.equal(p.canPublish('foo.a'), true);
  assert.equal(p.canPublish('foo.a.b'), true);
  assert.equal(p.canPublish('bar'), true);
  assert.equal(p.canPublish('foo.secret'), false, 'deny wins over allow foo.>');
  assert.equal(p.canPublish('baz'), false);
  assert.equal(p.canPublish('foo'), false, 'foo.> does not match foo');
  // Cached answers stay the same.
  assert.equal(p.canPublish('foo.secret'), false);
  assert.equal(p.canPublish('foo.a'), true);

  const d = new Permissions({ publish: { allow: null, deny: ['_STAN.pub.>'] } });
  assert.equal(d.canPublish('anything'), true);
  assert.equal(d.canPublish('_STAN.pub.c.x'), false);

  const none = new Permissions({ publish: { allow: [], deny: [] } });
  assert.equal(none.canPublish('anything'), false, 'an empty (non-null) allow list allows nothing');

  const open = new Permissions({});
  assert.equal(open.canPublish('x'), true);
  assert.equal(open.canSubscribe('>'), true);
});

test('subscribe: allow entries must cover the subject', () => {
  const p = new Permissions({ subscribe: { allow: ['foo.*', 'bar.>'], deny: [] } });
  assert.equal(p.canSubscribe('foo.x'), true);
  assert.equal(p.canSubscribe('foo.*'), true);
  assert.equal(p.canSubscribe('foo.>'), false, 'foo.* does not grant foo.a.b');
  assert.equal(p.canSubscribe('>'), false);
  assert.equal(p.canSubscribe('bar.*'), true);
  assert.equal(p.canSubscribe('bar.>'), true);
  assert.equal(p.canSubscribe('baz'), false);
});

test('subscribe: queue entries "subject queue"', () => {
  const p = new Permissions({ subscribe: { allow: ['q.x grp', 'plain', 'mixed', 'mixed v1', 'wq v.*'], deny: [] } });
  assert.equal(p.canSubscribe('q.x', 'grp'), true);
  assert.equal(p.canSubscribe('q.x'), false, 'queue entry allows no plain subscription');
  assert.equal(p.canSubscribe('q.x', 'other'), false);
  assert.equal(p.canSubscribe('plain'), true);
  assert.equal(p.canSubscribe('plain', 'any'), true, 'a plain entry allows any queue');
  assert.equal(p.canSubscribe('mixed'), true);
  assert.equal(p.canSubscribe('mixed', 'v1'), true);
  assert.equal(p.canSubscribe('mixed', 'v2'), false, 'queue entries for the subject restrict the queue (as nats-server)');
  assert.equal(p.canSubscribe('wq', 'v.1'), true, 'queue names may be patterns');
  assert.equal(p.canSubscribe('wq', 'w.1'), false);
});

test('subscribe deny: literal match refuses, overlap is filtered at delivery', () => {
  const p = new Permissions({ subscribe: { allow: null, deny: ['foo.secret', 'bar.>', 'jobs v1'] } });
  assert.equal(p.canSubscribe('foo.secret'), false);
  assert.equal(p.canSubscribe('foo.other'), true);
  assert.equal(p.canSubscribe('bar.x'), false);
  assert.equal(p.canSubscribe('bar.*'), false, 'deny bar.> matches the literal subject bar.*');
  assert.equal(p.canSubscribe('bar.>'), false);
  assert.equal(p.canSubscribe('>'), true, 'overlapping wildcard subscription is accepted…');
  assert.equal(p.needsDeliveryFilter('>'), true, '…with a delivery filter');
  assert.equal(p.needsDeliveryFilter('foo.*'), true);
  assert.equal(p.needsDeliveryFilter('baz.*'), false);
  assert.equal(p.needsDeliveryFilter('foo.other'), false, 'literal subjects need no filter');
  assert.equal(p.canDeliver('foo.secret'), false);
  assert.equal(p.canDeliver('bar.a.b'), false);
  assert.equal(p.canDeliver('foo.other'), true);
  assert.equal(p.canSubscribe('jobs'), true, 'a queue deny entry does not deny plain subscriptions');
  assert.equal(p.canSubscribe('jobs', 'v1'), false);
  assert.equal(p.canSubscribe('jobs', 'v2'), true);
});

test('allow and deny together: deny wins for subscriptions', () => {
  const p = new Permissions({ subscribe: { allow: ['foo.>'], deny: ['foo.bad'] } });
  assert.equal(p.canSubscribe('foo.ok'), true);
  assert.equal(p.canSubscribe('foo.bad'), false);
  assert.equal(p.canSubscribe('foo.*'), true);
  assert.equal(p.needsDeliveryFilter('foo.*'), true);
});

test('allow_responses: reply subjects of delivered requests, max and expiry', async () => {
  const r = new ResponseTracker({ max: 2, expires: 0 });
  assert.equal(r.allowResponse('_INBOX.a'), false, 'unknown reply subject');
  r.noteRequest('_INBOX.a');
  assert.equal(r.allowResponse('_INBOX.a'), true);
  assert.equal(r.allowResponse('_INBOX.a'), true);
  assert.equal(r.allowResponse('_INBOX.a'), false, 'max 2 responses');

  const e = new ResponseTracker({ max: 1, expires: 30 });
  e.noteRequest('_INBOX.b');
  await new Promise((res) => setTimeout(res, 80));
  assert.equal(e.allowResponse('_INBOX.b'), false, 'expired');
});

test('entry validation', () => {
  assert.equal(invalidPermissionEntry('foo.>', 'publish'), undefined);
  assert.equal(invalidPermissionEntry('foo q', 'subscribe'), undefined);
  assert.match(invalidPermissionEntry('foo q', 'publish') ?? '', /must be a single subject/);
  assert.match(invalidPermissionEntry('foo..bar', 'publish') ?? '', /subject "foo\.\.bar" is not a valid subject/);
  assert.match(invalidPermissionEntry('foo.>.bar', 'subscribe') ?? '', /not a valid subject/);
  assert.match(invalidPermissionEntry('a b c', 'subscribe') ?? '', /"subject" or "subject queue"/);
  assert.deepEqual(validatePermissions({ publish: { allow: ['ok', 'bad..x'], deny: [] }, subscribe: { allow: null, deny: ['x y z'] } }).length, 2);
});
