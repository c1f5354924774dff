/**
 * src/protocol/stan-proto.json (what codec.ts loads) is generated from proto/*.proto by
 * scripts/gen-proto.ts: it must match them, and the types built from it must encode and
 * decode exactly as the types parsed from the .proto text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { DESCRIPTOR_FILE, descriptorJson, readProtoFiles } from '../../scripts/gen-proto';
import '../../src/protocol/codec'; // plain-number int64 set-up, as at run time

test('the committed descriptor is what scripts/gen-proto.ts makes of proto/*.proto (run it after changing a .proto)', () => {
  assert.equal(fs.readFileSync(DESCRIPTOR_FILE, 'utf8'), descriptorJson(readProtoFiles()));
});

function sampleValue(type: string, i: number): unknown {
  switch (type) {
    case 'string':
      return i % 3 === 0 ? '' : `s${i}-é€-${'x'.repeat(i % 17)}`;
    case 'bytes':
      return randomBytes(i % 5 === 0 ? 0 : i % 40);
    case 'bool':
      return i % 2 === 0;
    case 'int32':
    case 'sint32':
      return i % 4 === 0 ? -i : i * 1000;
    case 'uint32':
      return i * 70_001;
    case 'int64':
    case 'uint64':
      return [0, 1, 2 ** 32 + i, 2 ** 53 - 1, 1_700_000_000_000_000_000][i % 5];
    default:
      return i % 5; // enums
  }
}

test('every type built from the descriptor encodes and decodes like the one parsed from the .proto', () => {
  const fromProto = new protobuf.Root();
  for (const text of readProtoFiles()) protobuf.parse(text, fromProto, { keepCase: true });
  fromProto.resolveAll();
  const fromJson = protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(DESCRIPTOR_FILE, 'utf8')) as protobuf.INamespace);
  fromJson.resolveAll();
  const types: protobuf.Type[] = [];
  const collect = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) types.push(o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) collect(o);
    }
  };
  collect(fromProto);
  assert.ok(types.length >= 17, `found ${types.length} message types`);
  for (const a of types) {
    const b = fromJson.lookupType(a.fullName);
    assert.deepEqual(Object.keys(b.fields).sort(), Object.keys(a.fields).sort(), a.fullName);
    for (let i = 0; i < 30; i++) {
      const msg: Record<string, unknown> = {};
      for (const f of a.fieldsArray) if ((i + f.id) % 4 !== 0) msg[f.name] = sampleValue(f.type, i + f.id);
      const bytesA = a.encode(msg).finish();
      assert.deepEqual(b.encode(msg).finish(), bytesA, `${a.fullName} encoding`);
      assert.deepEqual(b.toObject(b.decode(bytesA), { defaults: true }), a.toObject(a.decode(bytesA), { defaults: true }), `${a.fullName} decoding`);
      // The same own properties too (code spreads decoded messages).
      assert.deepEqual({ ...b.decode(bytesA) }, { ...a.decode(bytesA) }, `${a.fullName} decoded fields`);
    }
  }
});
