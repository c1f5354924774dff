/**
 * Micro-benchmark of the two hot protobuf operations — PubMsg decode (once per publish) and
 * MsgProto encode (once per stored message) — in three implementations:
 *
 *   reflection  src/protocol/codec.ts, as used for every other message (the name is historical:
 *               it ran protobufjs reflection until the start-up work made it the committed
 *               static code of src/protocol/generated/, docs/startup.md)
 *   static      protobufjs static code (`pbjs -t static-module`, protobufjs-cli devDependency),
 *               generated into a temp dir at bench time from the same .proto files
 *   hand        the hand-written codecs of src/protocol/fast.ts (what the server uses now)
 *
 *   node dist/src/bench/codec-bench.js [--iterations N]
 *
 * Prints ns/op (best of 5 rounds after a warm-up), including the GC work each op's garbage causes.
 */
import { errorText } from '../errors';
import { PACKAGE_ROOT } from '../paths';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PubMsgCodec, MsgProtoCodec, MsgProto, PubMsg } from '../protocol/codec';
import { decodePubMsg, encodeMsgProto } from '../protocol/fast';

const ROOT = PACKAGE_ROOT;
const PROTO_DIR = path.join(ROOT, 'proto');

interface Finishable {
  finish(): Uint8Array;
}
interface StaticType<T> {
  decode(buf: Uint8Array): T;
  encode(msg: Partial<T>): Finishable;
}
interface StaticModule {
  pb: { PubMsg: StaticType<PubMsg>; MsgProto: StaticType<MsgProto> };
}

/** Generates and loads the static module; returns null (with the reason) if pbjs is unavailable. */
function loadStatic(): { mod: StaticModule | null; note: string } {
  let pbjs: string;
  try {
    pbjs = require.resolve('protobufjs-cli/bin/pbjs');
  } catch {
    return { mod: null, note: 'protobufjs-cli not installed (npm i -D protobufjs-cli@^1)' };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-codec-bench-'));
  const out = path.join(dir, 'static.js');
  try {
    execFileSync(
      process.execPath,
      [pbjs, '-t', 'static-module', '-w', 'commonjs', '--keep-case', '--force-number', '-p', PROTO_DIR, path.join(PROTO_DIR, 'protocol.proto'), '-o', out],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    // The generated module requires "protobufjs/minimal": point it at this package's copy, so
    // it shares the util (Long disabled) configured by codec.ts.
    const minimal = require.resolve('protobufjs/minimal');
    const src = fs.readFileSync(out, 'utf8').replace(/require\("protobufjs\/minimal"\)/g, `require(${JSON.stringify(minimal)})`);
    fs.writeFileSync(out, src);
    return { mod: require(out) as StaticModule, note: `generated with pbjs -t static-module into ${dir}` };
  } catch (err) {
    return { mod: null, note: `pbjs failed: ${errorText(err).split('\n')[0]}` };
  }
}

let sink = 0;

interface Result {
  nsPerOp: number;
}

function bench(iterations: number, fn: () => number): Result {
  for (let i = 0; i < Math.min(iterations, 200_000); i++) sink += fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink += fn();
    best = Math.min(best, ((performance.now() - t0) * 1e6) / iterations);
  }
  return { nsPerOp: best };
}

function main(): void {
  let iterations = 1_000_000;
  const i = process.argv.indexOf('--iterations');
  if (i >= 0) iterations = Number(process.argv[i + 1]) || iterations;

  const data = new Uint8Array(128);
  const pubMsg: Partial<PubMsg> = {
    clientID: 'benchmark-pub-0',
    guid: 'YGkDHzWTqfnMjhIdjwaG3L',
    subject: 'foo',
    data,
    connID: Buffer.from('yQDh0IHyP8iHELHzvB0fJv'),
  };
  const pubBytes = Buffer.from(PubMsgCodec.encode(pubMsg));
  const msg: MsgProto = {
    sequence: 123456,
    subject: 'foo',
    reply: '',
    data,
    timestamp: Date.now() * 1e6,
    redelivered: false,
    redeliveryCount: 0,
    CRC32: 0,
  };

  const { mod, note } = loadStatic();
  const rows: [string, string, Result | null][] = [];
  rows.push(['PubMsg decode', 'reflection', bench(iterations, () => PubMsgCodec.decode(pubBytes).data.length)]);
  rows.push(['PubMsg decode', 'static', mod ? bench(iterations, () => mod.pb.PubMsg.decode(pubBytes).data.length) : null]);
  rows.push(['PubMsg decode', 'hand', bench(iterations, () => decodePubMsg(pubBytes).data.length)]);
  rows.push(['MsgProto encode', 'reflection', bench(iterations, () => MsgProtoCodec.encode(msg).length)]);
  rows.push(['MsgProto encode', 'static', mod ? bench(iterations, () => mod.pb.MsgProto.encode(msg).finish().length) : null]);
  rows.push([
    'MsgProto encode',
    'hand',
    bench(iterations, () => encodeMsgProto(msg.sequence, msg.subject, msg.reply, msg.data, msg.timestamp).length),
  ]);

  // Cross-check: every encoding decodes to the same message. (The bytes differ: protobufjs
  // writes a field that is explicitly set even to its default, e.g. reply '' as 1a 00, while the
  // hand-written encoder and Go's gogo code omit it.)
  const encodings = [MsgProtoCodec.encode(msg), encodeMsgProto(msg.sequence, msg.subject, msg.reply, msg.data, msg.timestamp)];
  if (mod) encodings.push(mod.pb.MsgProto.encode(msg).finish());
  const same = (a: MsgProto, b: MsgProto): boolean =>
    a.sequence === b.sequence && a.subject === b.subject && a.reply === b.reply && a.timestamp === b.timestamp && Buffer.from(a.data).equals(Buffer.from(b.data));
  const decoded = encodings.map((e) => MsgProtoCodec.decode(e));
  const pubDecoded = [PubMsgCodec.decode(pubBytes), decodePubMsg(pubBytes)];
  if (mod) pubDecoded.push(mod.pb.PubMsg.decode(pubBytes));
  const agree =
    decoded.every((d) => same(d, decoded[0])) &&
    pubDecoded.every((d) => d.guid === pubMsg.guid && d.clientID === pubMsg.clientID && d.subject === pubMsg.subject && d.data.length === 128);

  process.stdout.write(`codec micro-benchmark, node ${process.version}, ${iterations} ops/round, best of 5 rounds\n`);
  process.stdout.write(`static: ${note}\n`);
  process.stdout.write(`PubMsg ${pubBytes.length} bytes (128-byte payload), MsgProto ${MsgProtoCodec.encode(msg).length} bytes; all implementations agree: ${agree}; MsgProto bytes: reflection ${encodings[0].length}, hand ${encodings[1].length}\n\n`);
  process.stdout.write(`${'operation'.padEnd(16)} ${'impl'.padEnd(11)} ${'ns/op'.padStart(8)}\n`);
  for (const [op, impl, r] of rows) {
    process.stdout.write(`${op.padEnd(16)} ${impl.padEnd(11)} ${r ? r.nsPerOp.toFixed(0).padStart(8) : '     n/a'}\n`);
  }
  if (sink === -1) process.stdout.write('\n');
}

main();
