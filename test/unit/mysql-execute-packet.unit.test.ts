/**
 * Our COM_STMT_EXECUTE packet for the message INSERT (mysql-execute-packet.ts) is byte for
 * byte the packet mysql2's own encoder (the installed mysql2's Packets.Execute, what
 * `connection.execute` sent before) builds for the same values: channel_id, seq, size as
 * numbers, ts as its decimal text, data as a Buffer. Random batches with empty payloads,
 * payloads across every length-prefix width (1, 3, 4 bytes), large and negative ts values,
 * with and without MySQL's query attributes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { encodeExecuteRows } from '../../src/store/sql/dialect/mysql-execute-packet';
import { unsendableByMysql2 } from '../../src/store/sql/dialect/mysql-execute';
import type { MsgRowKey } from '../../src/store/sql/dialect/types';
import { randomRows, seededRandom } from '../helpers/random-rows';

/** mysql2's packet encoder (not exported by its package: loaded from its file). */
interface Mysql2ExecutePacket {
  toPacket(): { buffer: Buffer };
}
type Mysql2ExecuteCtor = new (id: number, params: unknown[], charset: number, tz: string, attrs: undefined, clientFlags: number, jsonAsString: boolean, defs: unknown[]) => Mysql2ExecutePacket;
const Mysql2Execute = require(path.join(path.dirname(require.resolve('mysql2')), 'lib/packets/execute.js')) as Mysql2ExecuteCtor;
const UTF8MB4_GENERAL_CI = 45;
const CLIENT_QUERY_ATTRIBUTES = 0x08000000;

function mysql2Packet(stmtId: number, rows: MsgRowKey[], data: Buffer[], attrs: boolean): Buffer {
  const values: unknown[] = [];
  rows.forEach((m, i) => values.push(m.channel_id, m.seq, String(m.ts), m.size, data[i]));
  return new Mysql2Execute(stmtId, values, UTF8MB4_GENERAL_CI, 'local', undefined, attrs ? CLIENT_QUERY_ATTRIBUTES : 0, true, []).toPacket().buffer;
}

const LENGTHS = [0, 1, 128, 250, 251, 252, 65_534, 65_535, 65_536, 70_000];
const TS = [0, 1, -5, 1_796_520_990_264_663_808, Number.MAX_SAFE_INTEGER, 2 ** 63, 1.5e21, 123_456_789];

function batch(r: () => number, n: number): { rows: MsgRowKey[]; data: Buffer[] } {
  return randomRows(r, n, { lengths: LENGTHS, smallShare: 0.7, smallMax: 300, ts: TS });
}

function body(b: Buffer): Buffer {
  return b.subarray(4); // the header is the connection's (sequence id)
}

describe('COM_STMT_EXECUTE of the message INSERT', () => {
  for (const attrs of [false, true]) {
    test(`random batches equal mysql2's packet (query attributes ${attrs ? 'on' : 'off'})`, () => {
      const r = seededRandom(attrs ? 7 : 11);
      for (const n of [1, 2, 3, 7, 8, 9, 31, 32, 64, 200]) {
        const { rows, data } = batch(r, n);
        const stmtId = 1 + Math.floor(r() * 2 ** 31);
        const ours = encodeExecuteRows(stmtId, rows, data, 0, n, attrs);
        assert.deepEqual(body(ours), body(mysql2Packet(stmtId, rows, data, attrs)), `${n} rows`);
      }
    });
  }

  test('a slice of the rows (from, n) encodes only those rows', () => {
    const { rows, data } = batch(seededRandom(3), 40);
    const ours = encodeExecuteRows(9, rows, data, 32, 8, false);
    assert.deepEqual(body(ours), body(mysql2Packet(9, rows.slice(32), data.slice(32), false)));
  });

  test('a payload above 16 MB gets the 8-byte length prefix', () => {
    const d = Buffer.alloc((1 << 24) + 3, 7);
    const rows = [{ channel_id: 1, seq: 1, ts: 42, size: d.length }];
    const ours = encodeExecuteRows(2, rows, [d], 0, 1, false);
    assert.deepEqual(body(ours), body(mysql2Packet(2, rows, [d], false)));
  });
});

test("the payload lengths mysql2's writePacket breaks on: a last 16 MB piece of 0xFFFFFC-0xFFFFFE bytes, above 16 MB too", () => {
  const bad = [0xfffffc, 0xfffffd, 0xfffffe, 0x1fffffb, 0x1fffffc, 0x1fffffd, 0x2fffffa, 0x2fffffc];
  const good = [0, 1, 0xfffffb, 0xffffff, 0x1000000, 0x1fffffa, 0x1fffffe, 0x2fffff9, 0x2fffffd];
  assert.deepEqual(bad.filter((n) => !unsendableByMysql2(n)), []);
  assert.deepEqual(good.filter((n) => unsendableByMysql2(n)), []);
});
