import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sublist, type SublistEntry } from '../../src/nats/embedded/sublist';

class E implements SublistEntry {
  constructor(
    readonly subject: string,
    readonly queue: string | undefined = undefined,
    readonly id = subject,
  ) {}
}

function ids(sl: Sublist<E>, subject: string): string[] {
  return sl.match(subject).psubs.map((e) => e.id).sort();
}

test('literal and wildcard matching', () => {
  const sl = new Sublist<E>();
  for (const s of ['foo', 'foo.bar', 'foo.*', 'foo.>', '*.bar', '>', 'foo.*.baz', 'foo*', '*']) sl.insert(new E(s));
  assert.equal(sl.size, 9);
  assert.deepEqual(ids(sl, 'foo'), ['*', '>', 'foo'].sort());
  assert.deepEqual(ids(sl, 'foo.bar'), ['*.bar', '>', 'foo.*', 'foo.>', 'foo.bar'].sort());
  assert.deepEqual(ids(sl, 'foo.x.baz'), ['>', 'foo.*.baz', 'foo.>'].sort());
  assert.deepEqual(ids(sl, 'foo.x.y'), ['>', 'foo.>'].sort());
  // `foo*` is a literal token, not a wildcard.
  assert.deepEqual(ids(sl, 'foo*'), ['*', '>', 'foo*'].sort());
  assert.deepEqual(ids(sl, 'fooX'), ['*', '>'].sort());
  // `foo.>` does not match `foo`; empty tokens match nothing.
  assert.ok(!ids(sl, 'foo').includes('foo.>'));
  assert.deepEqual(ids(sl, 'foo..bar'), []);
  assert.deepEqual(ids(sl, '.foo'), []);
});

test('a wildcard publish subject is matched literally', () => {
  const sl = new Sublist<E>();
  sl.insert(new E('foo.*'));
  sl.insert(new E('foo.bar'));
  sl.insert(new E('>'));
  assert.deepEqual(ids(sl, 'foo.*'), ['>', 'foo.*']);
});

test('queue groups: one array per group, merged across matching subjects', () => {
  const sl = new Sublist<E>();
  sl.insert(new E('foo', 'q1', 'a'));
  sl.insert(new E('foo', 'q1', 'b'));
  sl.insert(new E('foo.*', 'q1', 'c'));
  sl.insert(new E('foo', 'q2', 'd'));
  sl.insert(new E('foo'));
  const r = sl.match('foo');
  assert.deepEqual(r.psubs.map((e) => e.id), ['foo']);
  const groups = r.qsubs.map((g) => g.map((e) => e.id).sort()).sort((x, y) => x[0].localeCompare(y[0]));
  assert.deepEqual(groups, [['a', 'b'], ['d']]);
  const r2 = sl.match('foo.x');
  assert.deepEqual(r2.qsubs.map((g) => g.map((e) => e.id)), [['c']]);
  assert.deepEqual(r2.psubs, []);
});

test('cache is invalidated on insert and remove (literal and wildcard)', () => {
  const sl = new Sublist<E>();
  const a = new E('a.b');
  sl.insert(a);
  assert.deepEqual(ids(sl, 'a.b'), ['a.b']);
  assert.deepEqual(ids(sl, 'a.c'), []);
  assert.ok(sl.cacheSize >= 2);
  const w = new E('a.*');
  sl.insert(w);
  assert.deepEqual(ids(sl, 'a.b'), ['a.*', 'a.b']);
  assert.deepEqual(ids(sl, 'a.c'), ['a.*']);
  const lit = new E('a.c');
  sl.insert(lit);
  assert.deepEqual(ids(sl, 'a.c'), ['a.*', 'a.c']);
  assert.ok(sl.remove(w));
  assert.deepEqual(ids(sl, 'a.b'), ['a.b']);
  assert.deepEqual(ids(sl, 'a.c'), ['a.c']);
  const f = new E('>');
  sl.insert(f);
  assert.deepEqual(ids(sl, 'a.c'), ['>', 'a.c']);
  assert.ok(sl.remove(f));
  assert.ok(sl.remove(lit));
  assert.deepEqual(ids(sl, 'a.c'), []);
  assert.ok(sl.remove(a));
  assert.deepEqual(ids(sl, 'a.b'), []);
  assert.equal(sl.size, 0);
  assert.equal(sl.remove(a), false);
});

test('cached results are stable while the index changes', () => {
  const sl = new Sublist<E>();
  const a = new E('x', undefined, 'a');
  const b = new E('x', undefined, 'b');
  sl.insert(a);
  sl.insert(b);
  const r = sl.match('x');
  sl.remove(a);
  assert.equal(r.psubs.length, 2, 'a handed-out result must not be mutated');
  assert.equal(sl.match('x').psubs.length, 1);
});

test('removing entries prunes the trie and stats count operations', () => {
  const sl = new Sublist<E>();
  const es = Array.from({ length: 100 }, (_, i) => new E(`_INBOX.abc.${i}`));
  for (const e of es) sl.insert(e);
  for (const e of es) assert.equal(sl.match(e.subject).psubs.length, 1);
  for (const e of es) assert.ok(sl.remove(e));
  assert.equal(sl.size, 0);
  const st = sl.stats();
  assert.equal(st.numInserts, 100);
  assert.equal(st.numRemoves, 100);
  assert.equal(st.numSubscriptions, 0);
  assert.ok(st.numMatches >= 100);
  // Re-inserting after pruning works.
  sl.insert(es[0]);
  assert.equal(sl.match(es[0].subject).psubs.length, 1);
});

test('cache stays bounded', () => {
  const sl = new Sublist<E>();
  sl.insert(new E('>'));
  for (let i = 0; i < 5000; i++) sl.match(`s.${i}`);
  assert.ok(sl.cacheSize <= 1024, `cache size ${sl.cacheSize}`);
  const st = sl.stats();
  assert.equal(st.maxFanout, 1);
});

test('cache hit rate rises with repeated matches', () => {
  const sl = new Sublist<E>();
  sl.insert(new E('foo'));
  for (let i = 0; i < 10; i++) sl.match('foo');
  assert.equal(sl.stats().cacheHitRate, 0.9);
});

test('literal subjects: one subscriber, then several, plain and queue, then back to none', () => {
  const sl = new Sublist<E>();
  const a = new E('_INBOX.x', undefined, 'a');
  const b = new E('_INBOX.x', undefined, 'b');
  const q = new E('_INBOX.x', 'g', 'q');
  const stranger = new E('_INBOX.x', undefined, 'stranger');
  sl.insert(a);
  assert.deepEqual(ids(sl, '_INBOX.x'), ['a']);
  assert.equal(sl.remove(stranger), false, 'another entry with the same subject is not removed');
  sl.insert(b);
  sl.insert(q);
  assert.equal(sl.size, 3);
  const r = sl.match('_INBOX.x');
  assert.deepEqual(r.psubs.map((e) => e.id).sort(), ['a', 'b']);
  assert.deepEqual(r.qsubs.map((g) => g.map((e) => e.id)), [['q']]);
  assert.equal(sl.remove(stranger), false);
  assert.equal(sl.remove(new E('_INBOX.x', 'g', 'other')), false);
  assert.ok(sl.remove(a));
  assert.ok(sl.remove(q));
  assert.deepEqual(ids(sl, '_INBOX.x'), ['b']);
  assert.deepEqual(sl.match('_INBOX.x').qsubs, []);
  assert.ok(sl.remove(b));
  assert.equal(sl.remove(b), false);
  assert.deepEqual(ids(sl, '_INBOX.x'), []);
  assert.equal(sl.size, 0);
  // A queue subscriber alone on a literal subject.
  sl.insert(q);
  assert.deepEqual(sl.match('_INBOX.x').qsubs.map((g) => g.map((e) => e.id)), [['q']]);
  assert.ok(sl.remove(q));
  assert.equal(sl.match('_INBOX.x').qsubs.length, 0);
});

test('literal and wildcard subscribers of one subject: wildcards first, queue groups merged', () => {
  const sl = new Sublist<E>();
  sl.insert(new E('a.b', undefined, 'lit'));
  sl.insert(new E('a.>', undefined, 'fwc'));
  sl.insert(new E('a.*', undefined, 'pwc'));
  sl.insert(new E('a.b', 'g', 'lq'));
  sl.insert(new E('a.*', 'g', 'wq'));
  const r = sl.match('a.b');
  assert.deepEqual(r.psubs.map((e) => e.id), ['fwc', 'pwc', 'lit']);
  assert.deepEqual(r.qsubs.map((g) => g.map((e) => e.id)), [['wq', 'lq']]);
});

test('subjects with empty tokens are kept but never match', () => {
  const sl = new Sublist<E>();
  const bad = ['a..b', '.a', 'a.', ''].map((s) => new E(s));
  for (const e of bad) sl.insert(e);
  sl.insert(new E('>'));
  for (const e of bad) assert.deepEqual(ids(sl, e.subject), [], e.subject);
  assert.equal(sl.size, 5);
  for (const e of bad) assert.ok(sl.remove(e), e.subject);
  assert.equal(sl.size, 1);
});

test('tokens that only contain a wildcard character are literal', () => {
  const sl = new Sublist<E>();
  for (const s of ['a.b*', 'a.>x', '*a', 'a.*b.c']) sl.insert(new E(s));
  assert.deepEqual(ids(sl, 'a.b*'), ['a.b*']);
  assert.deepEqual(ids(sl, 'a.>x'), ['a.>x']);
  assert.deepEqual(ids(sl, 'a.bx'), []);
  assert.deepEqual(ids(sl, '*a'), ['*a']);
  assert.deepEqual(ids(sl, 'a.*b.c'), ['a.*b.c']);
  assert.deepEqual(ids(sl, 'a.x.c'), []);
});

test('one entry under many literal subjects (insertSubject / removeSubject)', () => {
  const sl = new Sublist<E>();
  const group = new E('(group)', undefined, 'group');
  sl.insertSubject('_INBOX.a', group);
  sl.insertSubject('_INBOX.b', group);
  // A plain subscriber of one of the subjects, and a wildcard one.
  sl.insert(new E('_INBOX.b', undefined, 'plain-b'));
  sl.insert(new E('_INBOX.*', undefined, 'wild'));
  assert.equal(sl.size, 4);
  assert.deepEqual(ids(sl, '_INBOX.a'), ['group', 'wild']);
  assert.deepEqual(ids(sl, '_INBOX.b'), ['group', 'plain-b', 'wild']);
  assert.deepEqual(ids(sl, '(group)'), [], 'the entry is not indexed under its own subject');
  assert.equal(sl.removeSubject('_INBOX.b', group), true);
  assert.equal(sl.removeSubject('_INBOX.b', group), false, 'removed once');
  assert.deepEqual(ids(sl, '_INBOX.b'), ['plain-b', 'wild']);
  assert.deepEqual(ids(sl, '_INBOX.a'), ['group', 'wild'], 'its other subjects stay');
  assert.equal(sl.removeSubject('_INBOX.a', group), true);
  assert.deepEqual(ids(sl, '_INBOX.a'), ['wild']);
  assert.equal(sl.size, 2);
  assert.throws(() => sl.insertSubject('_INBOX.*', group), /not a literal subject/);
  for (const empty of ['a..b', '.a', 'a.', '', '.']) assert.throws(() => sl.insertSubject(empty, group), /not a literal subject/, `"${empty}" has an empty token`);
  for (const wild of ['>', 'a.>', '*.a']) assert.throws(() => sl.insertSubject(wild, group), /not a literal subject/, wild);
  assert.throws(() => sl.insertSubject('x', new E('x', 'q')), /not a literal subject/, 'queue entries are not grouped');
});
