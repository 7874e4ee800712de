import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { signFile, signStatement, imageSignatureStatement } from '../../src/signing/index.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';
import { describeV03, statementOf, verifyIndependently } from '../support/sigstore-verify.js';

let stack: SigstoreStack;
let dir: string;
const digest = 'sha256:' + 'ab'.repeat(32);

beforeAll(async () => {
  stack = await startSigstoreStack();
  dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-keyless-'));
});
afterAll(async () => stack?.stop());

describe('keyless signing through the local Sigstore stack', () => {
  it('signs a statement: Fulcio certificate, Rekor v1 entry, TSA timestamp; verifies', async () => {
    const r = await signStatement(imageSignatureStatement('127.0.0.1:5000/demo/app', digest), {
      kind: 'keyless',
      identityToken: stack.issueToken({ sub: 'https://ci.example/workflow@refs/heads/main' }),
      signingConfigPath: stack.signingConfigPath,
    });
    expect(describeV03(r.bundle)).toEqual({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      content: 'dsse',
      key: 'certificate',
      tlogEntries: 1,
      timestamps: 1,
    });
    const { signer } = verifyIndependently(r.bundle, {
      trustedRoot: stack.trustedRoot,
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 2,
    });
    expect(signer.identity?.subjectAlternativeName).toBe('https://ci.example/workflow@refs/heads/main');
    expect(r.signer).toBe('https://ci.example/workflow@refs/heads/main');
    expect(r.issuer).toBe(stack.issuer);
    expect(typeof r.tlogIndex).toBe('number');
    expect(statementOf(r.bundle).subject[0]!.digest.sha256).toBe('ab'.repeat(32));
  });

  it('signs a file (message signature) with explicit URLs and no TSA', async () => {
    const f = path.join(dir, 'fn.zip');
    writeFileSync(f, Buffer.alloc(3 * 1024 * 1024, 7));
    const r = await signFile(f, {
      kind: 'keyless',
      identityToken: stack.issueToken(),
      fulcioUrl: stack.fulcioUrl,
      rekorUrl: stack.rekorUrl,
    });
    expect(describeV03(r.bundle)).toMatchObject({
      content: 'message',
      key: 'certificate',
      tlogEntries: 1,
      timestamps: 0,
    });
    verifyIndependently(r.bundle, {
      trustedRoot: stack.trustedRoot,
      artifact: Buffer.alloc(3 * 1024 * 1024, 7),
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    });
  });
});

describe('Rekor v2 named by a signing config', () => {
  it('records a v0.0.2 entry (inclusion proof, no SET) and a TSA timestamp; verifies', async () => {
    const v2 = await startSigstoreStack({ rekorV2: true });
    try {
      const r = await signStatement(imageSignatureStatement('reg.test/app', digest), {
        kind: 'keyless',
        identityToken: v2.issueToken(),
        signingConfigPath: v2.signingConfigPath,
        env: {},
      });
      const entry = r.bundle.verificationMaterial.tlogEntries[0]!;
      expect(entry.kindVersion).toEqual({ kind: 'dsse', version: '0.0.2' });
      expect(entry.inclusionPromise).toBeUndefined();
      expect(describeV03(r.bundle)).toMatchObject({ tlogEntries: 1, timestamps: 1 });
      const opts = {
        trustedRoot: v2.trustedRoot,
        tlogThreshold: 1,
        ctlogThreshold: 1,
        timestampThreshold: 1,
      };
      verifyIndependently(r.bundle, opts);
      // The checkpoint is really checked: a checkpoint naming another root is refused.
      const forged = structuredClone(r.bundle);
      const proof = forged.verificationMaterial.tlogEntries[0]!.inclusionProof!;
      const lines = proof.checkpoint.envelope.split('\n');
      lines[2] = Buffer.alloc(32, 1).toString('base64');
      proof.checkpoint.envelope = lines.join('\n');
      expect(() => verifyIndependently(forged, opts)).toThrow(/checkpoint/);

      const f = path.join(dir, 'v2.zip');
      writeFileSync(f, 'rekor v2 package');
      const m = await signFile(f, {
        kind: 'keyless',
        identityToken: v2.issueToken(),
        signingConfigPath: v2.signingConfigPath,
        env: {},
      });
      expect(m.bundle.verificationMaterial.tlogEntries[0]!.kindVersion).toEqual({
        kind: 'hashedrekord',
        version: '0.0.2',
      });
      verifyIndependently(m.bundle, { ...opts, artifact: Buffer.from('rekor v2 package') });
    } finally {
      await v2.stop();
    }
  });
});
