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
    expect(describeV03(r.bundle)).toMatchObject({ content: 'message', key: 'certificate', tlogEntries: 1, timestamps: 0 });
    verifyIndependently(r.bundle, {
      trustedRoot: stack.trustedRoot,
      artifact: Buffer.alloc(3 * 1024 * 1024, 7),
      tlogThreshold: 1,
      ctlogThreshold: 1,
      timestampThreshold: 1,
    });
  });
});
