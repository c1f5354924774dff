/**
 * Generates src/protocol/stan-proto.json, the protobufjs descriptor of proto/protocol.proto
 * and proto/spb.proto that src/protocol/codec.ts loads. The .proto files stay the source of
 * truth; run this after changing one (test/unit/protocol-descriptor.unit.test.ts fails while
 * the JSON does not match them):
 *
 *   node --import tsx scripts/gen-proto.ts
 *
 * Why JSON and not the .proto text at start-up: protobufjs's .proto tokenizer and parser ran
 * on every start-up; building the same types from JSON took 6–8 ms instead of 15–70 ms (with
 * the first encoders generated, 9–11 ms instead of 35–90 ms), measured on this busy 2-core
 * machine, same minutes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import protobuf from 'protobufjs';

const ROOT = path.join(__dirname, '..');
export const PROTO_FILES = ['protocol.proto', 'spb.proto'];
export const DESCRIPTOR_FILE = path.join(ROOT, 'src', 'protocol', 'stan-proto.json');

/** The descriptor of the given .proto texts, as the JSON file holds it (field names as written). */
export function descriptorJson(protoTexts: readonly string[]): string {
  const root = new protobuf.Root();
  for (const text of protoTexts) protobuf.parse(text, root, { keepCase: true });
  root.resolveAll();
  return `${JSON.stringify(root.toJSON(), null, 2)}\n`;
}

/** The .proto files of the repository, in PROTO_FILES order. */
export function readProtoFiles(): string[] {
  return PROTO_FILES.map((f) => fs.readFileSync(path.join(ROOT, 'proto', f), 'utf8'));
}

if (require.main === module) {
  fs.writeFileSync(DESCRIPTOR_FILE, descriptorJson(readProtoFiles()));
  process.stdout.write(`wrote ${path.relative(ROOT, DESCRIPTOR_FILE)}\n`);
}
