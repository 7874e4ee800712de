import { describe, expect, it } from 'vitest';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  generateKeyPair,
  keyHint,
  loadPrivateKey,
  writeKeyPair,
  type KeyType,
} from '../../src/signing/index.js';
import { VouchError } from '../../src/errors.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'vouch-keys-'));

async function expectBadInput(p: Promise<unknown>, code: string, message?: RegExp): Promise<VouchError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VouchError);
  const ve = err as VouchError;
  expect(ve.code).toBe(code);
  expect(ve.exitCode).toBe(2);
  if (message) expect(ve.message).toMatch(message);
  return ve;
}

describe('generateKeyPair / loadPrivateKey', () => {
  for (const type of ['p256', 'p384', 'ed25519'] as KeyType[]) {
    it(`round-trips an encrypted ${type} key and computes the SPKI hint`, async () => {
      const pair = await generateKeyPair({ type, password: 'correct horse' });
      expect(pair.encrypted).toBe(true);
      expect(pair.privateKeyPem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
      expect(pair.publicKeyPem).toContain('-----BEGIN PUBLIC KEY-----');
      const dir = tmp();
      const w = await writeKeyPair(dir, pair);
      const key = await loadPrivateKey(w.privateKeyPath, 'correct horse');
      expect(key.type).toBe(type);
      const spki = createPublicKey(pair.publicKeyPem).export({ type: 'spki', format: 'der' });
      expect(key.hint).toBe(createHash('sha256').update(spki).digest('base64'));
      expect(pair.hint).toBe(key.hint);
    });
  }

  it('writes vouch.key with mode 0600 and refuses to overwrite', async () => {
    const dir = tmp();
    const pair = await generateKeyPair({ password: 'pw' });
    const w = await writeKeyPair(dir, pair);
    expect(path.basename(w.privateKeyPath)).toBe('vouch.key');
    expect(path.basename(w.publicKeyPath)).toBe('vouch.pub');
    expect(statSync(w.privateKeyPath).mode & 0o777).toBe(0o600);
    const before = readFileSync(w.privateKeyPath, 'utf8');
    await expectBadInput(
      writeKeyPair(dir, await generateKeyPair({ password: 'pw' })),
      'KEY_EXISTS',
      /refusing to overwrite/,
    );
    expect(readFileSync(w.privateKeyPath, 'utf8')).toBe(before);
  });

  it('writes an unencrypted key without a password', async () => {
    const pair = await generateKeyPair({ type: 'p256' });
    expect(pair.encrypted).toBe(false);
    expect(pair.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
    const w = await writeKeyPair(tmp(), pair);
    expect((await loadPrivateKey(w.privateKeyPath)).type).toBe('p256');
  });

  it('wrong password → KEY_PASSWORD, exit 2, without the password in the message', async () => {
    const w = await writeKeyPair(tmp(), await generateKeyPair({ password: 'right-pw-123' }));
    const e = await expectBadInput(
      loadPrivateKey(w.privateKeyPath, 'wrong-pw-456'),
      'KEY_PASSWORD',
      /wrong password/,
    );
    expect(e.message).not.toContain('wrong-pw-456');
    expect(e.message).toBe(`cannot decrypt ${w.privateKeyPath}: wrong password`);
  });

  it('encrypted key without a password → KEY_PASSWORD_REQUIRED naming the three options', async () => {
    const w = await writeKeyPair(tmp(), await generateKeyPair({ password: 'pw' }));
    const e = await expectBadInput(loadPrivateKey(w.privateKeyPath), 'KEY_PASSWORD_REQUIRED');
    expect(e.hint).toMatch(/--key-password-file.*VOUCH_KEY_PASSWORD/);
  });

  it('missing, garbage, RSA and P-521 keys are bad input', async () => {
    const dir = tmp();
    await expectBadInput(loadPrivateKey(path.join(dir, 'nope.key')), 'KEY_UNREADABLE', /no such file/);
    writeFileSync(path.join(dir, 'junk.key'), 'not a key');
    await expectBadInput(loadPrivateKey(path.join(dir, 'junk.key')), 'KEY_FORMAT');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(path.join(dir, 'rsa.key'), rsa);
    await expectBadInput(loadPrivateKey(path.join(dir, 'rsa.key')), 'KEY_TYPE', /rsa/);
    const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    writeFileSync(path.join(dir, 'p521.key'), p521);
    await expectBadInput(loadPrivateKey(path.join(dir, 'p521.key')), 'KEY_TYPE', /secp521r1/);
  });

  it('keyHint is the base64 sha256 of the SPKI DER', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    expect(keyHint(publicKey)).toBe(createHash('sha256').update(der).digest('base64'));
  });
});
