/**
 * Round trip: bundles made by src/signing against the local Sigstore stack (real HTTP to a
 * loopback Fulcio/Rekor/TSA) verify with the stack's trusted root, and are refused for another
 * identity, key or artifact.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, signFile, signStatement, writeKeyPair } from '../../src/signing/index.js';
import type { TrustedRootJSON } from '../../src/trust/index.js';
import { verifyBundle, type ArtifactInput, type TrustOptions } from '../../src/verify/bundle.js';
import { verifyBundles } from '../../src/verify/pool.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-rt-'));
const file = path.join(dir, 'fn.zip');
const data = Buffer.from('round trip '.repeat(5000));
writeFileSync(file, data);
const hex = createHash('sha256').update(data).digest('hex');
const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: 'fn.zip', digest: { sha256: hex } }],
  predicateType: 'https://slsa.dev/provenance/v1',
  predicate: { buildDefinition: { buildType: 'https://vouch.test/build' } },
};

let stack: SigstoreStack;
let root: TrustedRootJSON;
let keyPath: string;
let pubKey: ReturnType<typeof createPublicKey>;
beforeAll(async () => {
  stack = await startSigstoreStack();
  root = stack.trustedRoot as TrustedRootJSON;
  const pair = await generateKeyPair({ type: 'p256' });
  keyPath = (await writeKeyPair(dir, pair)).privateKeyPath;
  pubKey = createPublicKey(pair.publicKeyPem);
});
afterAll(async () => {
  await stack?.stop();
});

const keyless = () => ({
  kind: 'keyless' as const,
  identityToken: stack.issueToken(),
  fulcioUrl: stack.fulcioUrl,
  rekorUrl: stack.rekorUrl,
  tsaUrl: stack.tsaUrl,
});
const who = () => [{ subject: 'signer@vouch.test', issuer: stack.issuer }];
const forms = (): ArtifactInput[] => [
  { kind: 'file', path: file },
  { kind: 'bytes', data },
  { kind: 'digest', algorithm: 'sha256', hex },
];

describe('keyless, local stack', () => {
  it('a DSSE attestation verifies in every artifact form and names its signer', async () => {
    const signed = await signStatement(statement, keyless());
    const trust: TrustOptions = { trustedRoot: root, identities: who() };
    for (const a of forms()) {
      const r = await verifyBundle(JSON.parse(signed.bundleBytes.toString()), a, trust, {
        bytes: signed.bundleBytes,
      });
      expect(r.report.ok, `${a.kind}: ${r.report.error}`).toBe(true);
      expect(r.signer).toMatchObject({
        kind: 'certificate',
        subject: 'signer@vouch.test',
        issuer: stack.issuer,
      });
      expect(r.report.digest).toBe(signed.digest);
      expect(r.report.timestamps?.length).toBeGreaterThanOrEqual(1);
    }
    const stranger = await verifyBundle(
      signed.bundle,
      { kind: 'file', path: file },
      { trustedRoot: root, identities: [{ subject: 'someone@vouch.test', issuer: stack.issuer }] },
    );
    expect(stranger.report.error).toBe(
      'certificate identity "signer@vouch.test" != expected "someone@vouch.test"',
    );
  });

  it('a message signature verifies from the file and from its digest; another file is refused', async () => {
    const signed = await signFile(file, keyless());
    const trust: TrustOptions = { trustedRoot: root, identities: who() };
    for (const a of forms())
      expect((await verifyBundle(signed.bundle, a, trust)).report.ok, a.kind).toBe(true);
    const other = await verifyBundle(
      signed.bundle,
      { kind: 'bytes', data: Buffer.concat([data, Buffer.from('!')]) },
      trust,
    );
    expect(other.report.ok).toBe(false);
  });

  it('the public-good root does not verify the local stack', async () => {
    const signed = await signStatement(statement, keyless());
    const { loadTrustedRoot } = await import('../../src/trust/index.js');
    const prod = await loadTrustedRoot({ offline: true });
    expect(
      (
        await verifyBundle(
          signed.bundle,
          { kind: 'file', path: file },
          { trustedRoot: prod, identities: who() },
        )
      ).report.ok,
    ).toBe(false);
  });

  it('verifyBundles spreads many keyless bundles and agrees with verifyBundle', async () => {
    const signed = await signStatement(statement, keyless());
    const items = Array.from({ length: 12 }, (_, i) => ({
      bundle: signed.bundle,
      artifact: { kind: 'digest', algorithm: 'sha256', hex } as ArtifactInput,
      source: `b${i}`,
    }));
    const stats = { workers: 0, inWorkers: 0 };
    const out = await verifyBundles(
      items,
      { trustedRoot: root, identities: who() },
      { concurrency: 2, stats },
    );
    expect(out.every((r) => r.report.ok)).toBe(true);
    expect(out.map((r) => r.report.source)).toEqual(items.map((i) => i.source));
  });
});

describe('key-based, local stack', () => {
  it('air-gapped (no log): verifies with the key, refused when a log entry is required', async () => {
    const signed = await signFile(file, { kind: 'key', keyPath });
    const trust: TrustOptions = { trustedRoot: root, keys: [{ id: 'vouch.pub', key: pubKey }] };
    for (const a of forms())
      expect((await verifyBundle(signed.bundle, a, trust)).report.ok, a.kind).toBe(true);
    expect(
      (await verifyBundle(signed.bundle, { kind: 'file', path: file }, { ...trust, requireTlog: true }))
        .report.error,
    ).toBe('expected entries from 1 transparency log(s), got 0');
  });

  it('with a log entry and a timestamp: both verified and can be required', async () => {
    const signed = await signStatement(statement, {
      kind: 'key',
      keyPath,
      tlogUpload: true,
      rekorUrl: stack.rekorUrl,
      tsaUrl: stack.tsaUrl,
    });
    const trust: TrustOptions = {
      trustedRoot: root,
      keys: [{ id: 'vouch.pub', key: pubKey }],
      requireTlog: true,
      requireTimestamp: true,
    };
    const r = await verifyBundle(signed.bundle, { kind: 'file', path: file }, trust);
    expect(r.report.ok, r.report.error).toBe(true);
    expect(r.signer).toEqual({ kind: 'key', keyId: 'vouch.pub' });
    // the log entry is checked even when not required: an unknown log is refused
    const noLogs = { ...root, tlogs: [] };
    const u = await verifyBundle(
      signed.bundle,
      { kind: 'file', path: file },
      { trustedRoot: noLogs, keys: trust.keys },
    );
    expect(u.report.error).toMatch(/^log entry from unknown log /);
  });
});
