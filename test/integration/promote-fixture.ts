/**
 * Builds what the promotion tests promote: a two-platform image (or a single manifest) in an OCI
 * layout, pushed to a real store; a cosign-style signature, SLSA v1 provenance and a vulns
 * attestation signed with a real key and attached as referrers; and policy files. Everything
 * goes through vouch's own library (signing, bundles, copy) — no hand-made registry content.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeLayoutImage } from '../../scripts/mklayout.mjs';
import { attachBundle } from '../../src/bundles/index.js';
import { copy, openStore, parseReference, type Descriptor, type Store } from '../../src/oci/index.js';
import type { Policy } from '../../src/policy/types.js';
import {
  generateKeyPair,
  imageSignatureStatement,
  signStatement,
  writeKeyPair,
  type SignerSpec,
} from '../../src/signing/index.js';

export const TRUSTED_BUILDER = 'https://builder.example.test/hosted@v1';
export const UNTRUSTED_BUILDER = 'https://laptop.example.test/make@v1';
export const REPO = 'github.com/acme/widget';

export function tempDir(prefix = 'vouch-promote-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface Keys {
  dir: string;
  key: string;
  pub: string;
  spec: SignerSpec;
}

export async function makeKeys(dir: string, name = 'vouch'): Promise<Keys> {
  const pair = await generateKeyPair();
  const w = await writeKeyPair(dir, pair, { key: `${name}.key`, pub: `${name}.pub` });
  return {
    dir,
    key: w.privateKeyPath,
    pub: w.publicKeyPath,
    spec: { kind: 'key', keyPath: w.privateKeyPath },
  };
}

/** Writes an image (2-platform index, or one manifest) into a layout under `tag`; returns its digest. */
export { writeLayoutImage };

/** Makes an image and puts it at `ref` (registry or layout) under its tag; returns the store and descriptor. */
export async function pushImage(
  ref: string,
  opts: { layerBytes?: number; single?: boolean; plainHttp?: boolean } = {},
): Promise<{ store: Store; desc: Descriptor; name: string }> {
  const r = parseReference(ref);
  const tag = r.tag ?? 'latest';
  const dir = tempDir('vouch-img-');
  writeLayoutImage(dir, tag, opts);
  const src = await openStore(parseReference(`oci:${dir}`));
  const store = await openStore(r, { plainHttp: opts.plainHttp ?? true });
  if (r.kind === 'layout' && r.path === dir) return { store, desc: await store.resolve(tag), name: ref };
  await copy(src, tag, store, { tag });
  return { store, desc: await store.resolve(tag), name: ref };
}

function repoName(store: Store): string {
  const l = store.location;
  return l.kind === 'layout' ? `oci:${l.path}` : `${l.registry}/${l.repository}`;
}

export async function attachStatement(
  store: Store,
  desc: Descriptor,
  statement: object,
  keys: Keys,
): Promise<string> {
  const signed = await signStatement(statement, keys.spec);
  await attachBundle(store, desc, signed.bundle, { bytes: signed.bundleBytes });
  return signed.digest;
}

export async function signImage(store: Store, desc: Descriptor, keys: Keys): Promise<string> {
  return attachStatement(store, desc, imageSignatureStatement(repoName(store), desc.digest), keys);
}

export interface ProvenanceOpts {
  builderId?: string;
  branch?: string;
  /** Subject digest (default: the image's) — another digest makes a provenance for something else. */
  subjectDigest?: string;
}

export function provenanceStatement(name: string, digest: string, o: ProvenanceOpts = {}): object {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name, digest: { sha256: (o.subjectDigest ?? digest).replace(/^sha256:/, '') } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://vouch.dev/buildtypes/test/v1',
        externalParameters: { source: `git+https://${REPO}@refs/heads/${o.branch ?? 'main'}` },
        resolvedDependencies: [
          {
            uri: `git+https://${REPO}@refs/heads/${o.branch ?? 'main'}`,
            digest: { gitCommit: 'c0ffee'.padEnd(40, '0') },
          },
        ],
      },
      runDetails: {
        builder: { id: o.builderId ?? TRUSTED_BUILDER },
        metadata: {
          invocationId: 'https://ci.example.test/runs/1',
          startedOn: '2026-12-03T10:00:00Z',
          finishedOn: '2026-12-03T10:05:00Z',
        },
      },
    },
  };
}

export async function attachProvenance(
  store: Store,
  desc: Descriptor,
  keys: Keys,
  o: ProvenanceOpts = {},
): Promise<string> {
  return attachStatement(store, desc, provenanceStatement(repoName(store), desc.digest, o), keys);
}

export function vulnsStatement(name: string, digest: string, severities: string[]): object {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name, digest: { sha256: digest.replace(/^sha256:/, '') } }],
    predicateType: 'https://in-toto.io/attestation/vulns/v0.2',
    predicate: {
      scanner: {
        uri: 'pkg:github/aquasecurity/trivy@v0.58.0',
        version: '0.58.0',
        result: severities.map((s, i) => ({
          id: `CVE-2026-${1000 + i}`,
          severity: [{ method: 'nvd', score: s }],
        })),
      },
      metadata: { scanStartedOn: '2026-12-03T10:06:00Z', scanFinishedOn: '2026-12-03T10:07:00Z' },
    },
  };
}

export async function attachVulns(
  store: Store,
  desc: Descriptor,
  keys: Keys,
  severities: string[],
): Promise<string> {
  return attachStatement(store, desc, vulnsStatement(repoName(store), desc.digest, severities), keys);
}

/** A provenance bundle whose DSSE payload was changed after signing (the signature no longer covers it). */
export async function attachTamperedProvenance(store: Store, desc: Descriptor, keys: Keys): Promise<void> {
  const signed = await signStatement(
    provenanceStatement(repoName(store), desc.digest, { builderId: UNTRUSTED_BUILDER }),
    keys.spec,
  );
  const bundle = structuredClone(signed.bundle) as unknown as { dsseEnvelope: { payload: string } };
  const stmt = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
  stmt.predicate.runDetails.builder.id = TRUSTED_BUILDER;
  bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
  await attachBundle(store, desc, bundle as unknown as typeof signed.bundle);
}

/** A policy trusting `keys` with the trusted builder at L3, branch main, no critical vulns. */
export function policyDoc(
  keys: Keys,
  sources: string[],
  destinations: string[],
  extra: Partial<Policy> = {},
): Policy {
  return {
    version: 1,
    signers: [{ name: 'ci', key: { path: keys.pub } }],
    builders: [{ id: TRUSTED_BUILDER, maxLevel: 3 }],
    minSlsaLevel: 3,
    source: { uri: REPO, branches: ['main'] },
    vulnerabilities: { maxSeverity: 'high' },
    promotion: { sources, destinations },
    ...extra,
  };
}

export function writePolicy(
  dir: string,
  doc: Policy | Record<string, unknown>,
  name = 'policy.json',
): string {
  const p = path.join(dir, name);
  writeFileSync(p, JSON.stringify(doc, null, 2));
  return p;
}

export function readDecisions(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
