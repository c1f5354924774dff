/**
 * The reference-format writer (src/import/reference/writer.ts) reproduces the reference's files
 * byte for byte: the whole plain and AES-encrypted fixtures re-created from their decoded
 * records (the encrypted one re-encrypted with the recovered nonce sequence), and the message
 * slices of three channels re-created from expected.json alone. Also the key-derivation test
 * vector of reference-stores.md §3.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReferenceFileStoreWriter } from '../../src/import/reference';
import { channelKey, masterKey, openEnvelope } from '../../src/import/reference/reference-crypto';
import { decodeMsg, encodeMsg } from '../../src/import/reference/records';
import { expected, FIXTURE_KEY, FIXTURES, listFiles } from '../helpers/reference-fixtures';
import { channelDirs, rawClients, rawMsgs, rawServerInfo, rawSubs } from '../helpers/reference-raw';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ref-writer-'));
}

function assertSameFiles(a: string, b: string, only?: string[]): void {
  const files = only ?? listFiles(a);
  if (only === undefined) assert.deepEqual(listFiles(b), files);
  for (const f of files) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs`);
}

async function recreate(variant: 'file' | 'file-encrypted', dst: string): Promise<void> {
  const src = path.join(FIXTURES, variant);
  const encrypted = variant === 'file-encrypted';
  const w = new ReferenceFileStoreWriter(dst, encrypted ? { encryption: { key: FIXTURE_KEY, cipher: 'AES' } } : {});
  w.writeServerInfo(await rawServerInfo(src));
  w.writeClients(await rawClients(src));
  for (const name of channelDirs(src)) {
    const cdir = path.join(src, name);
    const msgs = fs.existsSync(path.join(cdir, 'msgs.1.dat')) ? await rawMsgs(path.join(cdir, 'msgs.1.dat')) : [];
    const key = channelKey(masterKey(FIXTURE_KEY), name);
    const env = msgs[0]?.data;
    const ch = w.channel(name, encrypted && env !== undefined ? { noncePrefix: env.subarray(1, 5), nonceCounter: Buffer.from(env.subarray(5, 13)).readBigUInt64BE(0) } : {});
    ch.writeSubs(await rawSubs(cdir));
    for (const m of msgs) ch.append({ seq: m.sequence, timestamp: m.timestamp, data: encrypted ? openEnvelope(key, m.data) : m.data, subject: m.subject, reply: m.reply });
    ch.close();
  }
}

describe('reference-format writer', () => {
  for (const variant of ['file', 'file-encrypted'] as const) {
    test(`re-creates the ${variant} fixture byte for byte from its records`, async () => {
      const dst = tmp();
      try {
        await recreate(variant, dst);
        assertSameFiles(path.join(FIXTURES, variant), dst);
      } finally {
        fs.rmSync(dst, { recursive: true, force: true });
      }
    });
  }

  test('re-creates msgs.1.dat/.idx of orders, events and work from expected.json alone', () => {
    const dst = tmp();
    try {
      const w = new ReferenceFileStoreWriter(dst);
      const files: string[] = [];
      for (const name of ['orders', 'events', 'work']) {
        const ch = w.channel(name);
        for (const m of expected().variants.file.channels[name].messages) ch.append({ seq: m.seq, timestamp: BigInt(m.timestamp_ns), data: Buffer.from(m.data, 'utf8') });
        ch.close();
        files.push(path.join(name, 'msgs.1.dat'), path.join(name, 'msgs.1.idx'));
      }
      assertSameFiles(path.join(FIXTURES, 'file'), dst, files);
    } finally {
      fs.rmSync(dst, { recursive: true, force: true });
    }
  });

  test('key derivation and envelopes match the test vector of reference-stores.md §3', () => {
    const m = masterKey('my-secret-key');
    assert.equal(m.toString('hex'), '1311f8fc80a7ea28d78dd7723f09c44c1754cd35160ca8e7133ae3d7f636a19a');
    const k = channelKey(m, 'other');
    assert.equal(k.toString('hex'), '540e0fcc671e38395af12c0edbda48fcfbb83f85903a233dbcfc5ceac22c0241');
    const aes = Buffer.from('01ba47edf1000000000000000136118dcb39f49b1ac4a10f293ab77669c5a7803d911a', 'hex');
    const chacha = Buffer.from('02968afa7b000000000000000135c7eaf06c0ea6532fee57e4fff408d15e89b5069c01', 'hex');
    assert.equal(openEnvelope(k, aes).toString(), 'plain?');
    assert.equal(openEnvelope(k, chacha).toString(), 'plain?');
    const stored = Buffer.from('080112056f74686572222301ba47edf1000000000000000136118dcb39f49b1ac4a10f293ab77669c5a7803d911a28f9f0e5fad3a0a1f718', 'hex');
    const msg = decodeMsg(stored);
    assert.deepEqual([msg.sequence, msg.subject], [1, 'other']);
    assert.ok(encodeMsg(msg).equals(stored));
  });
});
