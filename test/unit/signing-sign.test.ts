import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  generateKeyPair,
  imageSignatureStatement,
  signFile,
  signStatement,
  writeKeyPair,
  type KeyType,
} from '../../src/signing/index.js';
import { describeV03, statementOf, verifyIndependently } from '../support/sigstore-verify.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-sign-'));
const digest = 'sha256:' + 'ef'.repeat(32);

async function keyFile(type: KeyType, password?: string) {
  const pair = await generateKeyPair({ type, password });
  const w = await writeKeyPair(mkdtempSync(path.join(dir, `${type}-`)), pair);
  return { path: w.privateKeyPath, pub: pair.publicKeyPem, hint: pair.hint };
}

describe('key-based signing (no log)', () => {
  for (const type of ['p256', 'p384', 'ed25519'] as KeyType[]) {
    it(`${type}: DSSE statement bundle is v0.3 and verifies with @sigstore/verify`, async () => {
      const k = await keyFile(type, 'pw');
      const r = await signStatement(imageSignatureStatement('reg.test/app', digest), {
        kind: 'key',
        keyPath: k.path,
        password: 'pw',
      });
      expect(describeV03(r.bundle)).toEqual({
        mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        content: 'dsse',
        key: 'publicKey',
        tlogEntries: 0,
        timestamps: 0,
      });
      expect(r.bundle.verificationMaterial.publicKey?.hint).toBe(k.hint);
      expect(JSON.stringify(r.bundle)).not.toContain('PRIVATE');
      verifyIndependently(r.bundle, { publicKeyPem: k.pub });
      expect(statementOf(r.bundle).subject).toEqual([
        { name: 'reg.test/app', digest: { sha256: 'ef'.repeat(32) } },
      ]);
      expect(r.digest).toBe('sha256:' + createHash('sha256').update(r.bundleBytes).digest('hex'));
      expect(JSON.parse(r.bundleBytes.toString())).toEqual(r.bundle);
      expect(r.signer).toBe(`key ${k.hint}`);
    });

    if (type === 'ed25519') continue;
    it(`${type}: message signature over a streamed file verifies and binds the file digest`, async () => {
      const k = await keyFile(type);
      const data = randomBytes(3 * 1024 * 1024 + 17);
      const f = path.join(dir, `fn-${type}.zip`);
      writeFileSync(f, data);
      const r = await signFile(f, { kind: 'key', keyPath: k.path });
      expect(r.sha256).toBe(createHash('sha256').update(data).digest('hex'));
      expect(r.size).toBe(data.length);
      expect(describeV03(r.bundle)).toMatchObject({ content: 'message', key: 'publicKey', tlogEntries: 0 });
      expect(r.bundle.messageSignature?.messageDigest?.digest).toBe(
        createHash('sha256').update(data).digest('base64'),
      );
      verifyIndependently(r.bundle, { publicKeyPem: k.pub, artifact: data });
      // The same bundle must not verify against other bytes (the check can fail).
      const other = Buffer.from(data);
      other[0] ^= 1;
      expect(() => verifyIndependently(r.bundle, { publicKeyPem: k.pub, artifact: other })).toThrow();
    });
  }

  it('a bundle does not verify with another key', async () => {
    const k = await keyFile('p256');
    const k2 = await keyFile('p256');
    const r = await signStatement(imageSignatureStatement('reg.test/app', digest), {
      kind: 'key',
      keyPath: k.path,
    });
    expect(() => verifyIndependently(r.bundle, { publicKeyPem: k2.pub })).toThrow();
  });

  it('Ed25519 keys are refused for message signatures (Sigstore verifiers cannot check them)', async () => {
    const k = await keyFile('ed25519');
    const f = path.join(dir, 'ed.zip');
    writeFileSync(f, 'x');
    await expect(signFile(f, { kind: 'key', keyPath: k.path })).rejects.toMatchObject({
      code: 'ED25519_MESSAGE',
      exitCode: 2,
    });
  });

  it('refuses statements that are not in-toto Statement v1', async () => {
    const k = await keyFile('p256');
    await expect(
      signStatement(
        { _type: 'https://in-toto.io/Statement/v0.1', subject: [], predicateType: 'x' },
        { kind: 'key', keyPath: k.path },
      ),
    ).rejects.toMatchObject({ code: 'STATEMENT', exitCode: 2 });
  });

  it('a missing file is bad input', async () => {
    const k = await keyFile('p256');
    await expect(
      signFile(path.join(dir, 'missing.zip'), { kind: 'key', keyPath: k.path }),
    ).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
      exitCode: 2,
    });
  });
});
