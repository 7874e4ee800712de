/**
 * verifyImage against a real registry (Debian docker-registry: no referrers API, so the
 * referrers tag schema is exercised) and an OCI layout, with bundles signed by src/signing and
 * attached by src/bundles in the cosign v3 layout.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachBundle, discoverBundles } from '../../src/bundles/index.js';
import {
  EMPTY_JSON,
  MediaType,
  openLayout,
  openStore,
  parseReference,
  sha256Digest,
  type Descriptor,
  type Store,
} from '../../src/oci/index.js';
import { policyFromDocument, type LoadedPolicy, type Policy } from '../../src/policy/index.js';
import { generateKeyPair, signStatement } from '../../src/signing/index.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { verifyImage, type TrustOptions } from '../../src/verify/index.js';
import { pushIndex, pushPlatformImage } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const BUILDER = 'https://builder.example.test/hosted@v1';
const PROV = 'https://slsa.dev/provenance/v1';
const VULNS = 'https://in-toto.io/attestation/vulns/v0.2';
const VSA = 'https://slsa.dev/verification_summary/v1';

let reg: TestRegistry;
let dir: string;
let keyA: string; // trusted signer
let keyB: string; // a signer the policy does not name
let keyV: string; // a trusted verifier (VSAs)
let trust: TrustOptions;
let root: TrustedRootJSON;

async function writeKey(name: string): Promise<string> {
  const kp = await generateKeyPair({ type: 'p256' });
  await writeFile(path.join(dir, `${name}.key`), kp.privateKeyPem, { mode: 0o600 });
  await writeFile(path.join(dir, `${name}.pub`), kp.publicKeyPem);
  return path.join(dir, `${name}.key`);
}

function statement(digest: string, predicateType: string, predicate: object) {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: digest.slice(7) } }],
    predicateType,
    predicate,
  };
}

const provenance = (builder = BUILDER, ref = 'refs/heads/main') => ({
  buildDefinition: {
    buildType: 'https://vouch.dev/buildtypes/local/v1',
    externalParameters: {},
    resolvedDependencies: [
      { uri: `git+https://github.com/acme/app@${ref}`, digest: { gitCommit: 'c0ffee' } },
    ],
  },
  runDetails: { builder: { id: builder }, metadata: { invocationId: 'run-1' } },
});

const vulns = (scores: string[]) => ({
  scanner: {
    uri: 'pkg:github/aquasecurity/trivy',
    db: { lastUpdate: '2026-01-01T00:00:00Z' },
    result: scores.map((s, i) => ({ id: `CVE-2026-${i}`, severity: [{ method: 'nvd', score: s }] })),
  },
  metadata: { scanStartedOn: '2026-01-01T00:00:00Z', scanFinishedOn: '2026-01-01T00:01:00Z' },
});

async function attest(
  store: Store,
  subject: Descriptor,
  key: string,
  predicateType: string,
  predicate: object,
  boundTo = subject.digest,
) {
  const r = await signStatement(statement(boundTo, predicateType, predicate), { kind: 'key', keyPath: key });
  await attachBundle(store, subject, r.bundle, { bytes: r.bundleBytes });
}

function loaded(p: Omit<Policy, 'version'>): LoadedPolicy {
  return policyFromDocument({ version: 1, ...p }, { uri: 'test:policy', baseDir: dir });
}

const keyPolicy = (extra: Partial<Policy> = {}) =>
  loaded({
    signers: [{ name: 'ci', key: { path: 'a.pub' } }],
    builders: [{ id: BUILDER, maxLevel: 3 }],
    ...extra,
  });

async function repo(name: string): Promise<Store> {
  return openStore(parseReference(`${reg.host}/${name}`), { plainHttp: true });
}

beforeAll(async () => {
  reg = await startRegistry({ name: 'verify' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-vi-'));
  keyA = await writeKey('a');
  keyB = await writeKey('b');
  keyV = await writeKey('v');
  root = await loadTrustedRoot({ offline: true });
  trust = { trustedRoot: root };
}, 60_000);

afterAll(async () => {
  await reg?.stop();
});

describe('verifyImage on a registry', () => {
  it('L3: signature, provenance from a level-3 builder and a clean scan, with input attestations', async () => {
    const store = await repo('demo/l3');
    const { manifest } = await pushPlatformImage(store, 'amd64', 2048, 'v1');
    await attest(store, manifest, keyA, 'https://sigstore.dev/cosign/sign/v1', {});
    await attest(store, manifest, keyA, PROV, provenance());
    await attest(store, manifest, keyA, VULNS, vulns(['low', 'medium']));
    const v = await verifyImage(
      store,
      manifest,
      keyPolicy({
        minSlsaLevel: 3,
        requiredPredicateTypes: [PROV],
        vulnerabilities: { maxSeverity: 'high' },
      }),
      trust,
    );
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v).toMatchObject({ ok: true, slsaLevel: 3, levelReason: '', digest: manifest.digest });
    expect(v.predicateTypes.sort()).toEqual([VULNS, 'https://sigstore.dev/cosign/sign/v1', PROV].sort());
    expect(v.inputAttestations).toHaveLength(3);
    expect(v.bundles.every((b) => /^sha256:[0-9a-f]{64}$/.test(b.source))).toBe(true);

    // The same image under a policy that caps the builder at 1: rejected, the level and why.
    const capped = await verifyImage(
      store,
      manifest,
      loaded({
        signers: [{ key: { path: 'a.pub' } }],
        builders: [{ id: BUILDER, maxLevel: 1 }],
        minSlsaLevel: 1,
      }),
      trust,
      { minSlsaLevel: 3 },
    );
    expect(capped.ok).toBe(false);
    expect(capped.slsaLevel).toBe(1);
    expect(capped.levelReason).toMatch(/up to level 1/);
    expect(capped.checks.find((c) => !c.ok)?.field).toBe('slsaLevel');

    // Source expectations from flags: a branch mismatch names the field.
    const wrongBranch = await verifyImage(store, manifest, keyPolicy(), trust, {
      expectations: { source: { uri: 'github.com/acme/app', branches: ['release'] } },
    });
    expect(wrongBranch.ok).toBe(false);
    expect(wrongBranch.checks.filter((c) => !c.ok).map((c) => c.field)).toEqual(['source.branch']);

    // Vulnerability threshold below what the scan found.
    const strict = await verifyImage(
      store,
      manifest,
      keyPolicy({ vulnerabilities: { maxSeverity: 'low' } }),
      trust,
    );
    expect(strict.ok).toBe(false);
    expect(strict.reason).toMatch(/medium/);
  });

  it('zero attestations of a required type is a failure, never a pass', async () => {
    const store = await repo('demo/bare');
    const { manifest } = await pushPlatformImage(store, 'amd64', 1024);
    const none = await verifyImage(store, manifest, keyPolicy(), trust);
    expect(none.ok).toBe(false);
    expect(none.reason).toMatch(/no signatures or attestations found/);
    await attest(store, manifest, keyA, 'https://sigstore.dev/cosign/sign/v1', {});
    const noProv = await verifyImage(store, manifest, keyPolicy({ requiredPredicateTypes: [PROV] }), trust);
    expect(noProv.ok).toBe(false);
    expect(noProv.checks.find((c) => !c.ok)).toMatchObject({ field: 'predicateType' });
    expect(noProv.slsaLevel).toBe(0);
  });

  it('provenance bound to another digest, or signed by an unknown key, is not evidence', async () => {
    const store = await repo('demo/other');
    const { manifest } = await pushPlatformImage(store, 'amd64', 1024);
    const { manifest: other } = await pushPlatformImage(store, 'arm64', 1024);
    await attest(store, manifest, keyA, PROV, provenance(), other.digest);
    await attest(store, manifest, keyB, PROV, provenance());
    const v = await verifyImage(store, manifest, keyPolicy({ requiredPredicateTypes: [PROV] }), trust);
    expect(v.ok).toBe(false);
    expect(v.slsaLevel).toBe(0);
    expect(v.bundles).toHaveLength(2);
    expect(v.bundles.every((b) => !b.ok)).toBe(true);
    const errors = v.bundles.map((b) => b.error ?? '').join('\n');
    expect(errors).toMatch(/subject/);
    expect(errors).toMatch(/key/);
  });

  it('a referrer whose bundle cannot be parsed is reported and fails the verdict', async () => {
    const store = await repo('demo/broken');
    const { manifest } = await pushPlatformImage(store, 'amd64', 1024);
    await attest(store, manifest, keyA, PROV, provenance());
    const junk = Buffer.from('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", ');
    const layer = { mediaType: MediaType.sigstoreBundleV03, digest: sha256Digest(junk), size: junk.length };
    await store.pushBlob(layer, junk);
    await store.pushBlob(EMPTY_JSON, Buffer.from('{}'));
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: MediaType.sigstoreBundleV03,
        config: { mediaType: EMPTY_JSON.mediaType, digest: EMPTY_JSON.digest, size: 2 },
        layers: [layer],
        subject: manifest,
      }),
    );
    const desc = await store.pushManifest(m, MediaType.ociManifest);
    const { addReferrer } = await import('../../src/oci/index.js');
    await addReferrer(store, manifest, { ...desc, artifactType: MediaType.sigstoreBundleV03 });
    const v = await verifyImage(store, manifest, keyPolicy({ minSlsaLevel: 3 }), trust);
    expect(v.bundles).toHaveLength(2);
    expect(v.slsaLevel).toBe(3);
    expect(v.ok).toBe(false);
    expect(v.checks.find((c) => !c.ok)).toMatchObject({ name: 'attestation readable' });
    expect(v.reason).toMatch(/not valid JSON/);
  });

  it('an index with require.allPlatforms needs every platform to verify on its own', async () => {
    const store = await repo('demo/multi');
    const img = await pushIndex(store, 'v1', 1024);
    await attest(store, img.root, keyA, PROV, provenance());
    const policy = keyPolicy({ minSlsaLevel: 3, require: { allPlatforms: true } });
    const partial = await verifyImage(store, img.root, policy, trust);
    expect(partial.ok).toBe(false);
    expect(partial.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'platform linux/amd64',
      'platform linux/arm64',
    ]);
    for (const child of img.children) await attest(store, child, keyA, PROV, provenance());
    const all = await verifyImage(store, img.root, policy, trust);
    expect(all.checks.filter((c) => !c.ok)).toEqual([]);
    expect(all.ok).toBe(true);
    expect(all.inputAttestations).toHaveLength(3);
    // Without allPlatforms only the index itself is evaluated.
    expect((await verifyImage(store, img.root, keyPolicy({ minSlsaLevel: 3 }), trust)).ok).toBe(true);
  });

  it('a VSA from a trusted verifier stands in for provenance; not for another digest or verifier', async () => {
    const store = await repo('demo/vsa');
    const { manifest } = await pushPlatformImage(store, 'amd64', 1024);
    const { manifest: other } = await pushPlatformImage(store, 'arm64', 1024);
    const vsa = (digest: string, verifier = 'https://vouch.dev/promote/v1') => ({
      verifier: { id: verifier },
      timeVerified: '2026-01-01T00:00:00Z',
      resourceUri: `oci://${store.name}@${digest}`,
      policy: { uri: 'file:///p.yaml' },
      verificationResult: 'PASSED',
      verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    });
    await attest(store, manifest, keyA, 'https://sigstore.dev/cosign/sign/v1', {});
    await attest(store, manifest, keyV, VSA, vsa(manifest.digest));
    const policy = keyPolicy({
      minSlsaLevel: 3,
      trustedVerifiers: [{ id: 'https://vouch.dev/promote/v1', signers: [{ key: { path: 'v.pub' } }] }],
    });
    const v = await verifyImage(store, manifest, policy, trust);
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.slsaLevel).toBe(3);
    // Without the verifier in the policy the VSA is no evidence (and its signer no policy signer).
    const noVerifier = await verifyImage(store, manifest, keyPolicy({ minSlsaLevel: 3 }), trust);
    expect(noVerifier.ok).toBe(false);
    expect(noVerifier.slsaLevel).toBe(0);
    // A VSA whose resourceUri names another digest, or from another verifier id, does not count.
    const store2 = await repo('demo/vsa2');
    const { manifest: m2 } = await pushPlatformImage(store2, 'amd64', 1024);
    await attest(store2, m2, keyA, 'https://sigstore.dev/cosign/sign/v1', {});
    await attest(store2, m2, keyV, VSA, vsa(other.digest));
    await attest(store2, m2, keyV, VSA, vsa(m2.digest, 'https://evil.example/verifier'));
    const bad = await verifyImage(store2, m2, policy, trust);
    expect(bad.ok).toBe(false);
    expect(bad.slsaLevel).toBe(0);
    expect(bad.levelReason).toMatch(/VSA sha256:[0-9a-f]+ not accepted: /);
  });
});

describe('discoverBundles caps what it reads', () => {
  it('a bundle layer over 10 MiB is reported unreadable without being fetched', async () => {
    const layout = openLayout(path.join(dir, 'layout-cap'));
    const { manifest } = await pushPlatformImage(layout, 'amd64', 512);
    const layer = {
      mediaType: MediaType.sigstoreBundleV03,
      digest: `sha256:${'0'.repeat(64)}`,
      size: 11 * 1024 * 1024,
    };
    await layout.pushBlob(EMPTY_JSON, Buffer.from('{}'));
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: MediaType.sigstoreBundleV03,
        config: { mediaType: EMPTY_JSON.mediaType, digest: EMPTY_JSON.digest, size: 2 },
        layers: [layer],
        subject: manifest,
      }),
    );
    const desc = await layout.pushManifest(bytes, MediaType.ociManifest);
    const { addReferrer } = await import('../../src/oci/index.js');
    await addReferrer(layout, manifest, { ...desc, artifactType: MediaType.sigstoreBundleV03 });
    const found = await discoverBundles(layout, manifest);
    expect(found).toHaveLength(1);
    expect(found[0]!.error).toMatch(/limit/);
    const v = await verifyImage(layout, manifest, keyPolicy(), trust);
    expect(v.ok).toBe(false);
    expect(v.bundles[0]!.error).toMatch(/limit/);
  });
});

describe('verifyImage on an OCI layout', () => {
  it('verifies the same way without a server', async () => {
    const layout = openLayout(path.join(dir, 'layout'));
    const { manifest } = await pushPlatformImage(layout, 'amd64', 1024, 'v1');
    await attest(layout, manifest, keyA, PROV, provenance());
    const v = await verifyImage(layout, manifest, keyPolicy({ minSlsaLevel: 3 }), trust);
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.ok).toBe(true);
    expect(v.subject).toContain(manifest.digest);
  });
});
