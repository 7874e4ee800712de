/**
 * Keyless provenance through the local Sigstore stack (real HTTP to Fulcio/Rekor/TSA): which
 * policy signer a certificate identity is, decides the SLSA level — a builder restricted to its
 * own signing identity reaches L3 only when that identity signed, and regexps are anchored.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachBundle } from '../../src/bundles/index.js';
import { openLayout, type Descriptor, type Store } from '../../src/oci/index.js';
import { policyFromDocument, type LoadedPolicy } from '../../src/policy/index.js';
import { signStatement } from '../../src/signing/index.js';
import type { TrustedRootJSON } from '../../src/trust/index.js';
import { verifyImage } from '../../src/verify/index.js';
import { pushPlatformImage } from '../support/images.js';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore.js';

const BUILDER = 'https://github.com/acme/trusted-builder/.github/workflows/build.yml';
const BUILDER_IDENTITY = `${BUILDER}@refs/tags/v1.0.0`;
const TENANT_IDENTITY = 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main';
let stack: SigstoreStack;
let store: Store;
let dir: string;

function provenance(digest: string) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: digest.slice(7) } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 't',
        externalParameters: {},
        resolvedDependencies: [
          { uri: 'git+https://github.com/acme/app@refs/tags/v1.4.0', digest: { gitCommit: 'c0ffee' } },
        ],
      },
      runDetails: { builder: { id: BUILDER_IDENTITY } },
    },
  };
}

async function signedImage(identity: string): Promise<Descriptor> {
  const { manifest } = await pushPlatformImage(store, 'amd64', 512);
  const r = await signStatement(provenance(manifest.digest), {
    kind: 'keyless',
    identityToken: stack.issueToken({ sub: identity }),
    signingConfigPath: stack.signingConfigPath,
  });
  await attachBundle(store, manifest, r.bundle, { bytes: r.bundleBytes });
  return manifest;
}

function policy(): LoadedPolicy {
  return policyFromDocument(
    {
      version: 1,
      signers: [
        {
          name: 'builder',
          identity: {
            issuer: stack.issuer,
            subjectRegexp: `${BUILDER.replaceAll('.', '\\.')}@refs/tags/v[0-9.]+`,
          },
        },
        { name: 'tenant', identity: { issuer: stack.issuer, subject: TENANT_IDENTITY } },
      ],
      builders: [{ id: BUILDER, maxLevel: 3, signers: ['builder'] }],
      source: { uri: 'github.com/acme/app', versionedTag: 'v1' },
      minSlsaLevel: 3,
    },
    { uri: 'test:keyless', baseDir: dir },
  );
}

beforeAll(async () => {
  stack = await startSigstoreStack();
  dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-keyless-verify-'));
  store = openLayout(path.join(dir, 'layout'));
}, 60_000);

afterAll(async () => stack?.stop());

describe('keyless provenance and the SLSA level', () => {
  it('L3 when the builder identity signed; issuer, subject and times are reported', async () => {
    const m = await signedImage(BUILDER_IDENTITY);
    const v = await verifyImage(store, m, policy(), { trustedRoot: stack.trustedRoot as TrustedRootJSON });
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.slsaLevel).toBe(3);
    expect(v.bundles[0]).toMatchObject({ ok: true, signer: BUILDER_IDENTITY, issuer: stack.issuer });
    expect(v.bundles[0]!.timestamps?.length).toBeGreaterThan(0);
  });

  it('L1 when a policy signer not trusted for that builder (the tenant) signed it', async () => {
    const m = await signedImage(TENANT_IDENTITY);
    const v = await verifyImage(store, m, policy(), { trustedRoot: stack.trustedRoot as TrustedRootJSON });
    expect(v.ok).toBe(false);
    expect(v.slsaLevel).toBe(1);
    expect(v.levelReason).toContain(`signer ${TENANT_IDENTITY} is not trusted for builder`);
  });

  it('an identity outside the anchored regexp is no signer at all', async () => {
    const m = await signedImage(`${BUILDER_IDENTITY}-evil`);
    const v = await verifyImage(store, m, policy(), { trustedRoot: stack.trustedRoot as TrustedRootJSON });
    expect(v.ok).toBe(false);
    expect(v.slsaLevel).toBe(0);
    expect(v.bundles[0]!.ok).toBe(false);
    expect(v.bundles[0]!.error).toMatch(/identity/);
  });
});
