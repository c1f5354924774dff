import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ColdPages, PAGE_MAX_ROWS, type PageQuery } from '../../src/store/sql/cold-pages';
import type { StoredMsg } from '../../src/store/contract';

/** Committed rows 1..last (minus `gaps`), answered like the database would; queries counted. */
function table(last: number, gaps: number[] = []): { query: PageQuery; calls: Array<[number, number]>; last: { v: number } } {
  const calls: Array<[number, number]> = [];
  const lastRef = { v: last };
  const query: PageQuery = (from, to) => {
    calls.push([from, to]);
    const rows: StoredMsg[] = [];
    for (let s = from; s <= Math.min(to, lastRef.v); s++) {
      if (!gaps.includes(s)) rows.push({ seq: s, timestamp: s, bytes: Buffer.from([s & 0xff]) });
    }
    return Promise.resolve(rows);
  };
  return { query, calls, last: lastRef };
}

const noError = (err: Error): never => {
  throw err;
};

test('a miss reads a whole page in one query; the next lookups are answered from memory', async () => {
  const t = table(10_000);
  const pages = new ColdPages(t.query, () => 128, noError);
  const m = await pages.load(1, 10_000);
  assert.equal(m?.seq, 1);
  assert.equal(t.calls.length, 1);
  for (let s = 2; s <= 100; s++) assert.equal(pages.get(s, 10_000)?.seq, s);
  assert.equal(t.calls.length, 1, 'no query per message');
});

test('half-way through a page the next two pages are read ahead (once), so the reader does not wait', async () => {
  const t = table(10_000);
  const pages = new ColdPages(t.query, () => 128, noError);
  await pages.load(1, 10_000);
  const rows = pages.pageRows();
  assert.equal(rows, PAGE_MAX_ROWS);
  pages.get(1 + rows / 2, 10_000);
  assert.equal(t.calls.length, 3);
  assert.deepEqual(t.calls[1], [rows + 1, 2 * rows]);
  assert.deepEqual(t.calls[2], [2 * rows + 1, 3 * rows]);
  for (let s = 2 + rows / 2; s <= rows; s++) pages.get(s, 10_000);
  assert.equal(t.calls.length, 3, 'read ahead once per page, not once per message');
  await new Promise((r) => setImmediate(r));
  assert.equal(pages.get(rows + 1, 10_000)?.seq, rows + 1, 'next page already in memory');
});

test('a lookup inside a read under way waits for it instead of querying again', async () => {
  const t = table(10_000);
  const pages = new ColdPages(t.query, () => 128, noError);
  const [a, b] = await Promise.all([pages.load(1, 10_000), pages.load(5, 10_000)]);
  assert.equal(a?.seq, 1);
  assert.equal(b?.seq, 5);
  assert.equal(t.calls.length, 1);
});

test('a missing row inside a page is a gap (undefined); after the last row it is a miss (null)', async () => {
  const t = table(50, [10]);
  const pages = new ColdPages(t.query, () => 128, noError);
  await pages.load(1, 100);
  assert.equal(pages.get(10, 100), undefined, 'refused/removed row: nothing to deliver');
  assert.equal(pages.get(51, 100), null, 'not committed when read: must be read again');
  t.last.v = 60;
  assert.equal((await pages.load(51, 100))?.seq, 51, 'rows committed later are found');
});

test('big messages make smaller pages, and only a few pages are kept', async () => {
  const t = table(100_000);
  const pages = new ColdPages(t.query, () => 64 * 1024, noError);
  const rows = pages.pageRows();
  assert.ok(rows < PAGE_MAX_ROWS && rows >= 16);
  for (let i = 0; i < 8; i++) await pages.load(1 + i * 10 * rows, 100_000);
  assert.equal(pages.get(1, 100_000), null, 'oldest page dropped');
  assert.equal(pages.get(1 + 7 * 10 * rows, 100_000)?.seq, 1 + 7 * 10 * rows);
});

test('clear() forgets pages, and a read that was under way does not fill the cache after it', async () => {
  const t = table(1_000);
  let release: () => void = () => undefined;
  const slow: PageQuery = (from, to) => new Promise((r) => (release = () => r(t.query(from, to))));
  const pages = new ColdPages(slow, () => 128, noError);
  const pending = pages.load(1, 1_000);
  pages.clear();
  release();
  assert.equal((await pending)?.seq, 1, 'the reader still gets the row it asked for');
  assert.equal(pages.get(2, 1_000), null, 'but the page is not kept');
});

test('dropBelow() forgets pages wholly below the new first sequence', async () => {
  const t = table(10_000);
  const pages = new ColdPages(t.query, () => 128, noError);
  await pages.load(1, 10_000);
  pages.dropBelow(PAGE_MAX_ROWS + 1);
  assert.equal(pages.get(1, 10_000), null);
});
