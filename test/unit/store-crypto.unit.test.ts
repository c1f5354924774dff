/**
 * The payload cipher of encryption at rest (src/store/crypto.ts), without a database: round
 * trips with both ciphers, tamper and wrong-key detection, plaintext records passing through,
 * the record header, and the option rules (auto cipher, empty key, read-only key).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cipherFromOptions,
  describeOpenFailure,
  EncryptionConfigError,
  isEncryptedRecord,
  openRecord,
  parseCipherName,
  PayloadCipher,
  PayloadCipherError,
  RECORD_MAGIC,
  RECORD_OVERHEAD,
  RECORD_VERSION,
  recordCipher,
  rowContext,
  type CipherName,
} from '../../src/store/crypto';
import { encodeMsgProto } from '../../src/protocol/fast';

const KEY = 'correct horse battery staple';
const plain = encodeMsgProto(42, 'orders.created', '', Buffer.from('SECRET-PAYLOAD-MARKER'), 1_700_000_000_000_000_000);

function expectCipherError(fn: () => unknown, reason: PayloadCipherError['reason']): void {
  assert.throws(fn, (err: unknown) => err instanceof PayloadCipherError && err.reason === reason);
}

for (const name of ['AES', 'CHACHA'] as CipherName[]) {
  describe(`PayloadCipher ${name}`, () => {
    const c = new PayloadCipher(KEY, name);
    const ctx = rowContext(3, 42);

    test('round trip; the record has the header, a fresh nonce and no plaintext', () => {
      const rec = c.seal(plain, ctx);
      assert.equal(rec.length, plain.length + RECORD_OVERHEAD);
      assert.equal(rec[0], RECORD_MAGIC);
      assert.equal(rec[1], RECORD_VERSION);
      assert.equal(recordCipher(rec), name);
      assert.ok(isEncryptedRecord(rec));
      assert.equal(rec.indexOf(Buffer.from('SECRET-PAYLOAD-MARKER')), -1);
      assert.equal(rec.indexOf(Buffer.from('orders.created')), -1);
      assert.deepEqual(Buffer.from(c.open(rec, ctx)), plain);
      const again = c.seal(plain, ctx);
      assert.notDeepEqual(again.subarray(3, 15), rec.subarray(3, 15), 'a new nonce per record');
      assert.notDeepEqual(again, rec);
    });

    test('empty and large payloads', () => {
      assert.deepEqual(Buffer.from(c.open(c.seal(Buffer.alloc(0), ctx), ctx)), Buffer.alloc(0));
      const big = Buffer.alloc(1024 * 1024 + 7, 0xab);
      assert.deepEqual(Buffer.from(c.open(c.seal(big, ctx), ctx)), big);
    });

    test('any altered byte (header, nonce, ciphertext, tag) fails authentication', () => {
      const rec = c.seal(plain, ctx);
      for (const i of [2, 3, 14, 15, 20, rec.length - 17, rec.length - 1]) {
        const bad = Buffer.from(rec);
        bad[i] ^= 0x01;
        // Byte 2 flipped turns the cipher id into another known or unknown id.
        assert.throws(() => c.open(bad, ctx), PayloadCipherError, `byte ${i}`);
      }
      expectCipherError(() => c.open(rec.subarray(0, rec.length - 1), ctx), 'auth');
      expectCipherError(() => c.open(rec.subarray(0, RECORD_OVERHEAD - 1), ctx), 'truncated');
    });

    test('another row position (context) fails authentication', () => {
      const rec = c.seal(plain, ctx);
      expectCipherError(() => c.open(rec, rowContext(3, 43)), 'auth');
      expectCipherError(() => c.open(rec, rowContext(4, 42)), 'auth');
    });

    test('a wrong key fails authentication', () => {
      const rec = c.seal(plain, ctx);
      const other = new PayloadCipher(`${KEY}!`, name);
      expectCipherError(() => other.open(rec, ctx), 'auth');
    });
  });
}

describe('PayloadCipher across ciphers and modes', () => {
  const ctx = rowContext(1, 1);

  test('records are opened with the cipher their header names, whatever is selected now', () => {
    const aes = new PayloadCipher(KEY, 'AES');
    const chacha = new PayloadCipher(KEY, 'CHACHA');
    assert.deepEqual(Buffer.from(chacha.open(aes.seal(plain, ctx), ctx)), plain);
    assert.deepEqual(Buffer.from(aes.open(chacha.seal(plain, ctx), ctx)), plain);
  });

  test('the two ciphers use different keys: a relabelled record fails', () => {
    const rec = new PayloadCipher(KEY, 'AES').seal(plain, ctx);
    const relabelled = Buffer.from(rec);
    relabelled[2] = 2; // claims ChaCha
    expectCipherError(() => new PayloadCipher(KEY, 'CHACHA').open(relabelled, ctx), 'auth');
  });

  test('plaintext records pass through untouched (rows written before encryption)', () => {
    const c = new PayloadCipher(KEY, 'AES');
    assert.equal(isEncryptedRecord(plain), false);
    assert.equal(c.open(plain, ctx), plain);
    assert.equal(openRecord(undefined, plain, ctx), plain);
    assert.deepEqual(c.open(Buffer.alloc(0), ctx), Buffer.alloc(0));
  });

  test('an encrypted record without a key: the "start with a key" error', () => {
    const rec = new PayloadCipher(KEY, 'AES').seal(plain, ctx);
    assert.throws(() => openRecord(undefined, rec, ctx), /^PayloadCipherError: messages are encrypted: start with --encryption_key or NATS_STREAMING_ENCRYPTION_KEY$/);
    let caught: unknown;
    try {
      openRecord(undefined, rec, ctx);
    } catch (err) {
      caught = err;
    }
    assert.match(describeOpenFailure(caught, 'foo', 1), /^messages are encrypted: start with --encryption_key or NATS_STREAMING_ENCRYPTION_KEY \(channel "foo"/);
  });

  test('the wrong-key message names the channel and what to do', () => {
    const rec = new PayloadCipher(KEY, 'CHACHA').seal(plain, ctx);
    let caught: unknown;
    try {
      new PayloadCipher('other', 'CHACHA').open(rec, ctx);
    } catch (err) {
      caught = err;
    }
    const msg = describeOpenFailure(caught, 'orders', 1);
    assert.match(msg, /^wrong encryption key: cannot decrypt stored messages of channel "orders"/);
    assert.match(msg, /NATS_STREAMING_ENCRYPTION_KEY/);
  });

  test('unknown format version and cipher id are refused with their own reasons', () => {
    const rec = new PayloadCipher(KEY, 'AES').seal(plain, ctx);
    const v2 = Buffer.from(rec);
    v2[1] = 2;
    expectCipherError(() => new PayloadCipher(KEY, 'AES').open(v2, ctx), 'unknown-version');
    const c9 = Buffer.from(rec);
    c9[2] = 9;
    expectCipherError(() => new PayloadCipher(KEY, 'AES').open(c9, ctx), 'unknown-cipher');
  });

  test('a read-only cipher opens records but refuses to seal', () => {
    const ro = new PayloadCipher(KEY, undefined);
    assert.equal(ro.encrypting, false);
    const rec = new PayloadCipher(KEY, 'AES').seal(plain, ctx);
    assert.deepEqual(Buffer.from(ro.open(rec, ctx)), plain);
    assert.throws(() => ro.seal(plain, ctx));
  });

  test('the same key always derives the same keys (restart), an empty key is refused', () => {
    const rec = new PayloadCipher('k1', 'AES').seal(plain, ctx);
    new PayloadCipher('k2', 'AES'); // replaces the per-process derivation cache
    assert.deepEqual(Buffer.from(new PayloadCipher('k1', 'AES').open(rec, ctx)), plain);
    assert.throws(() => new PayloadCipher('', 'AES'), EncryptionConfigError);
  });
});

describe('encryption options', () => {
  test('cipher names: "" is AES (auto), case-insensitive, unknown refused', () => {
    assert.equal(parseCipherName(''), 'AES');
    assert.equal(parseCipherName('aes'), 'AES');
    assert.equal(parseCipherName('CHACHA'), 'CHACHA');
    assert.equal(parseCipherName('chacha'), 'CHACHA');
    assert.throws(() => parseCipherName('DES'), /unsupported encryption cipher "DES": use AES or CHACHA/);
  });

  test('--encrypt without a key is refused; on MEMORY too', () => {
    for (const persistent of [true, false]) {
      assert.throws(
        () => cipherFromOptions({ encrypt: true, encryptionCipher: '', encryptionKey: '' }, persistent),
        /encryption is enabled \(--encrypt\) but no key is given: set NATS_STREAMING_ENCRYPTION_KEY/,
      );
    }
  });

  test('encrypting, read-only (key without --encrypt), none, and MEMORY', () => {
    const on = cipherFromOptions({ encrypt: true, encryptionCipher: 'CHACHA', encryptionKey: KEY }, true);
    assert.equal(on.cipher?.writeCipher, 'CHACHA');
    assert.match(on.notices.join('\n'), /encrypted at rest with ChaCha20-Poly1305/);
    const auto = cipherFromOptions({ encrypt: true, encryptionCipher: '', encryptionKey: KEY }, true);
    assert.equal(auto.cipher?.writeCipher, 'AES');
    const ro = cipherFromOptions({ encrypt: false, encryptionCipher: '', encryptionKey: KEY }, true);
    assert.equal(ro.cipher?.encrypting, false);
    assert.match(ro.warnings.join('\n'), /UNENCRYPTED/);
    assert.equal(cipherFromOptions({ encrypt: false, encryptionCipher: '', encryptionKey: '' }, true).cipher, undefined);
    const mem = cipherFromOptions({ encrypt: true, encryptionCipher: 'AES', encryptionKey: KEY }, false);
    assert.equal(mem.cipher, undefined);
    assert.match(mem.notices.join('\n'), /MEMORY store writes nothing to disk/);
    assert.throws(() => cipherFromOptions({ encrypt: true, encryptionCipher: 'RC4', encryptionKey: KEY }, true), EncryptionConfigError);
  });
});
