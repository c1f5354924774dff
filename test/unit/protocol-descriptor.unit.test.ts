/**
 * src/protocol/generated/stan-proto.ts (the static code codec.ts runs) and
 * src/protocol/stan-proto.json are generated from proto/*.proto by scripts/gen-proto.ts: they
 * must match them, and both must encode and decode exactly as the types parsed from the
 * .proto text (protobufjs reflection, what codec.ts ran before the static code).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import protobuf from 'protobufjs';
import { DESCRIPTOR_FILE, descriptorJson, readProtoFiles, STATIC_FILE, staticModuleTs } from '../../scripts/gen-proto';
import generated from '../../src/protocol/generated/stan-proto';
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

test('the committed static code is what scripts/gen-proto.ts makes of proto/*.proto (run it after changing a .proto)', async () => {
  assert.equal(fs.readFileSync(STATIC_FILE, 'utf8'), await staticModuleTs());
});

function parsedTypes(): protobuf.Type[] {
  const fromProto = new protobuf.Root();
  for (const text of readProtoFiles()) protobuf.parse(text, fromProto, { keepCase: true });
  fromProto.resolveAll();
  const types: protobuf.Type[] = [];
  const collect = (ns: protobuf.NamespaceBase): void => {
    for (const o of ns.nestedArray) {
      if (o instanceof protobuf.Type) types.push(o);
      if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) collect(o);
    }
  };
  collect(fromProto);
  assert.ok(types.length >= 17, `found ${types.length} message types`);
  return types;
}

interface StaticType {
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): Record<string, unknown>;
}

/** A field's value as the code sees it; an absent bytes field is empty either way ([] in reflection, an empty Buffer in static code). */
function fieldValue(m: Record<string, unknown>, f: protobuf.Field): unknown {
  const v = m[f.name];
  return f.type === 'bytes' ? Buffer.from(v as Uint8Array) : v;
}

test('the static code encodes and decodes every type like the one parsed from the .proto (same wire bytes)', () => {
  const root = generated as unknown as Record<string, Record<string, StaticType>>;
  for (const a of parsedTypes()) {
    const [pkg, name] = a.fullName.slice(1).split('.');
    const s = root[pkg]?.[name];
    assert.ok(s !== undefined, `${a.fullName} is in the static code`);
    for (let i = 0; i < 30; i++) {
      const msg: Record<string, unknown> = {};
      for (const f of a.fieldsArray) if ((i + f.id) % 4 !== 0) msg[f.name] = sampleValue(f.type, i + f.id);
      const bytesA = a.encode(msg).finish();
      assert.deepEqual(s.encode(msg).finish(), bytesA, `${a.fullName} encoding`);
      const da = a.decode(bytesA) as unknown as Record<string, unknown>;
      const ds = s.decode(bytesA);
      // The same own properties (code spreads decoded messages) and the same defaults for the rest.
      assert.deepEqual({ ...ds }, { ...da }, `${a.fullName} decoded fields`);
      for (const f of a.fieldsArray) assert.deepEqual(fieldValue(ds, f), fieldValue(da, f), `${a.fullName}.${f.name}`);
    }
    // Unknown fields are skipped alike; a truncated message fails alike.
    const withUnknown = Buffer.concat([Buffer.from(a.encode({}).finish()), Buffer.from([0x78, 0x96, 0x01, 0xfa, 0x07, 0x02, 0x41, 0x42])]);
    assert.deepEqual({ ...s.decode(withUnknown) }, { ...(a.decode(withUnknown) as unknown as Record<string, unknown>) }, `${a.fullName} unknown fields`);
    const truncated = Buffer.from([0x08, 0x96]);
    assert.throws(() => a.decode(truncated), RangeError, `${a.fullName} truncated (reflection)`);
    assert.throws(() => s.decode(truncated), RangeError, `${a.fullName} truncated`);
  }
});

test('every type built from the descriptor encodes and decodes like the one parsed from the .proto', () => {
  const fromJson = protobuf.Root.fromJSON(JSON.parse(fs.readFileSync(DESCRIPTOR_FILE, 'utf8')) as protobuf.INamespace);
  fromJson.resolveAll();
  for (const a of parsedTypes()) {
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
