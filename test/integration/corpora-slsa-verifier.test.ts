/**
 * slsa-verifier's offline Sigstore-bundle provenance (../shared/corpora/slsa-verifier LISTING.tsv):
 * every bundle verifies with the production root at the signature and subject level (builder,
 * source and level expectations belong to policy evaluation), and not for another artifact.
 * npm packages: the publish attestation (npm registry key) and the provenance (keyless) both verify,
 * and the tampered variants fail on the tampered one.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { parseBundle, verifyBundle, type ArtifactInput, type TrustOptions } from '../../src/verify/bundle.js';
import { artifactBeside, bundlesIn, GHA_ISSUER, listing, npmAttestationKeys } from './corpora-listing.js';

const rows = listing('slsa-verifier');
const offline = rows.filter((r) => /OFFLINE-OK|offline, prod trusted root/.test(r.expected));
const npm = rows.filter((r) => /offline needs npm key/.test(r.expected));

let root: TrustedRootJSON;
let trust: TrustOptions;
beforeAll(async () => {
  root = await loadTrustedRoot({ offline: true });
  trust = {
    trustedRoot: root,
    identities: [{ subjectRegexp: 'https://github\\.com/.+', issuer: GHA_ISSUER }],
    keys: npmAttestationKeys(),
  };
});

describe('slsa-verifier offline provenance bundles', () => {
  it('covers the offline rows of LISTING.tsv', () => {
    expect(offline).toHaveLength(83);
    expect(offline.filter((r) => artifactBeside(r.file))).toHaveLength(77);
    expect(npm).toHaveLength(15);
  });

  it.each(offline.map((r) => [r.path, r] as const))('%s', async (_p, row) => {
    const file = artifactBeside(row.file);
    for (const { text, bundle } of bundlesIn(row.file)) {
      // Six rows ship without their binary: verify against the digest the provenance names.
      const artifact: ArtifactInput = file
        ? { kind: 'file', path: file }
        : { kind: 'digest', algorithm: 'sha256', hex: firstSubjectSha256(bundle) };
      const r = await verifyBundle(parseBundle(text, row.path), artifact, trust, { source: row.path });
      expect(r.report.ok, r.report.error).toBe(true);
      expect(r.statement?.predicateType).toMatch(/^https:\/\/slsa\.dev\/provenance\/v(0\.2|1)$/);
      expect(r.signer?.kind).toBe('certificate');
      // the same bundle is refused for another subject
      const other = createHash('sha256').update(row.path).digest('hex');
      const o = await verifyBundle(bundle, { kind: 'digest', algorithm: 'sha256', hex: other }, trust);
      expect(o.report.error).toBe(`subject digest sha256:${other} not in statement subjects`);
    }
  });
});

describe('npm packages: publish attestation + provenance', () => {
  it.each(npm.filter((r) => r.path.endsWith('.tgz.json')).map((r) => [r.path, r] as const))(
    '%s',
    async (p, row) => {
      const tgz = artifactBeside(row.file)!;
      const [publish, provenance] = bundlesIn(row.file);
      const pub = await verifyBundle(publish!.bundle, { kind: 'file', path: tgz }, trust);
      const prov = await verifyBundle(provenance!.bundle, { kind: 'file', path: tgz }, trust);
      expect(pub.signer?.kind === 'key' || !pub.report.ok).toBe(true);
      expect(pub.report.ok, `publish: ${pub.report.error}`).toBe(!p.includes('invalidsigpub'));
      expect(prov.report.ok, `provenance: ${prov.report.error}`).toBe(!p.includes('invalidsigprov'));
    },
  );

  it('refuses the publish attestation without the npm key (the bundle hint is not trusted)', async () => {
    const row = npm.find((r) => r.path.endsWith('gundam-visor-cli-v1-tag.tgz.json'))!;
    const [publish] = bundlesIn(row.file);
    const r = await verifyBundle(
      publish!.bundle,
      { kind: 'file', path: artifactBeside(row.file)! },
      { trustedRoot: root, identities: trust.identities },
    );
    expect(r.report.error).toBe('no trusted key for key-based bundle');
  });
});

function firstSubjectSha256(bundle: unknown): string {
  const payload = (bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload;
  const st = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as {
    subject: { digest: { sha256: string } }[];
  };
  return st.subject[0]!.digest.sha256;
}
