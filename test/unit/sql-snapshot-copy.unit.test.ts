/**
 * The newest snapshot read from PostgreSQL as a COPY binary stream
 * (src/store/sql/dialect/postgres-copy-out.ts parseSnapshotCopy): the row comes back exact,
 * an empty table is "no snapshot", and a malformed stream is an error, never a wrong body.
 * The real COPY against PostgreSQL runs in the store contract suite and the restart tests.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseSnapshotCopy } from '../../src/store/sql/dialect/postgres-copy-out';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** What `COPY (SELECT last_event_id, body …) TO STDOUT (FORMAT binary)` sends for these rows. */
function stream(rows: Array<{ id: bigint; body: Buffer }>, extension = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(extension.length, 4);
  const tuples = rows.map((r) => {
    const t = Buffer.alloc(2 + 4 + 8 + 4);
    t.writeInt16BE(2, 0);
    t.writeInt32BE(8, 2);
    t.writeBigInt64BE(r.id, 6);
    t.writeInt32BE(r.body.length, 14);
    return Buffer.concat([t, r.body]);
  });
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1, 0);
  return Buffer.concat([SIGNATURE, header, extension, ...tuples, trailer]);
}

test('a snapshot row comes back exact: event ID above 2^32, body with every byte value', () => {
  const body = Buffer.from(Array.from({ length: 70_000 }, (_v, i) => i % 256));
  const got = parseSnapshotCopy(stream([{ id: 4_294_967_297n, body }]));
  assert.equal(got?.lastEventID, 4_294_967_297);
  assert.ok(got?.body.equals(body));
  // A header extension (allowed by the format) is skipped.
  assert.equal(parseSnapshotCopy(stream([{ id: 5n, body }], Buffer.from('ext')))?.lastEventID, 5);
});

test('no snapshot row: undefined', () => {
  assert.equal(parseSnapshotCopy(stream([])), undefined);
});

test('a malformed stream is an error that says so', () => {
  const good = stream([{ id: 1n, body: Buffer.from('abc') }]);
  assert.throws(() => parseSnapshotCopy(Buffer.from('not a copy stream at all, really')), /malformed: no COPY binary header/);
  for (const cut of [SIGNATURE.length + 9, SIGNATURE.length + 12, good.length - 3, good.length - 1]) {
    assert.throws(() => parseSnapshotCopy(good.subarray(0, cut)), /malformed/, `cut at ${cut}`);
  }
  assert.throws(() => parseSnapshotCopy(stream([{ id: 1n, body: Buffer.from('a') }, { id: 2n, body: Buffer.from('b') }])), /more than one row/);
  const nullBody = Buffer.from(good);
  nullBody.writeInt32BE(-1, SIGNATURE.length + 8 + 14);
  assert.throws(() => parseSnapshotCopy(nullBody), /null or cut short/);
});
