/**
 * src/store/sql/pg-scram.ts: pg's SCRAM steps on node:crypto give the bytes WebCrypto gave
 * (what pg used), and only functions pg has are replaced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, webcrypto } from 'node:crypto';
import { deriveKey, hmacSha256, sha256, useNodeCryptoForScram, type PgScramUtils } from '../../src/store/sql/pg-scram';

const subtle = webcrypto.subtle;

test('PBKDF2, HMAC and SHA-256 give the same bytes as WebCrypto', async () => {
  for (const password of ['pencil', 'pässwörd with spaces', '']) {
    const salt = randomBytes(16);
    const viaWeb = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 4096 }, await subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']), 256);
    const salted = await deriveKey(password, salt, 4096);
    assert.deepEqual(Buffer.from(salted), Buffer.from(viaWeb));
    const hmacKey = await subtle.importKey('raw', salted, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    assert.deepEqual(Buffer.from(await hmacSha256(salted, 'Client Key')), Buffer.from(await subtle.sign('HMAC', hmacKey, new TextEncoder().encode('Client Key'))));
    assert.deepEqual(Buffer.from(await sha256(salted)), Buffer.from(await subtle.digest('SHA-256', salted)));
  }
});

test('results are ArrayBuffers of their own (pg wraps them with Buffer.from)', async () => {
  const out = await sha256(Buffer.from('x'));
  assert.ok(out instanceof ArrayBuffer);
  assert.equal(out.byteLength, 32);
});

test('only the functions pg has are replaced', () => {
  const own = async (): Promise<ArrayBuffer> => new ArrayBuffer(0);
  const utils: PgScramUtils & { md5?: unknown } = { deriveKey: own, hmacSha256: own, md5: own };
  useNodeCryptoForScram(utils);
  assert.equal(utils.deriveKey, deriveKey);
  assert.equal(utils.hmacSha256, hmacSha256);
  assert.equal(utils.sha256, undefined, 'not added where pg has none');
  assert.equal(utils.md5, own);
});
