/**
 * gh attestation's test data (../shared/corpora/cli LISTING.tsv): actions/attest-build-provenance
 * bundles and npm provenance against the production root, and a GitHub private-instance bundle
 * (no transparency log, one RFC 3161 timestamp) that verifies only with GitHub's trusted root.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { parseBundle, verifyBundle } from '../../src/verify/bundle.js';
import { bundlesIn, CORPORA, GHA_ISSUER, GITHUB_ROOT, listing } from './corpora-listing.js';

const DATA = path.join(CORPORA, 'cli/pkg/cmd/attestation/test/data');
const rows = listing('cli').filter((r) => /^(PASS|FAIL)/.test(r.expected));

interface Expectation {
  artifact: string;
  root: 'prod' | 'github';
  subject: string;
  issuer: string;
  pass: boolean;
}
const SIGSTORE_JS = 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main';
/** What each LISTING row says, spelled out (the test fails when the listing grows a row not here). */
const TABLE: Record<string, Expectation> = {
  'custom-issuer.sigstore.json': {
    artifact: 'custom-issuer-artifact',
    root: 'prod',
    subject: 'https://github.com/too-legit/attest/.github/workflows/integration.yml@refs/heads/main',
    issuer: 'https://token.actions.githubusercontent.com/hammer-time',
    pass: true,
  },
  'github_provenance_demo-0.0.12-py3-none-any-bundle-missing-cert.jsonl': {
    artifact: 'github_provenance_demo-0.0.12-py3-none-any.whl',
    root: 'github',
    subject: '',
    issuer: GHA_ISSUER,
    pass: false,
  },
  'github_provenance_demo-0.0.12-py3-none-any-bundle-missing-verification-material.jsonl': {
    artifact: 'github_provenance_demo-0.0.12-py3-none-any.whl',
    root: 'github',
    subject: '',
    issuer: GHA_ISSUER,
    pass: false,
  },
  'github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl': {
    artifact: 'github_provenance_demo-0.0.12-py3-none-any.whl',
    root: 'github',
    subject: 'https://github.com/actions/attest-demo/.github/workflows/build-python.yml@refs/heads/main',
    issuer: GHA_ISSUER,
    pass: true,
  },
  'reusable-workflow-attestation.sigstore.json': {
    artifact: 'reusable-workflow-artifact',
    root: 'prod',
    subject:
      'https://github.com/github/artifact-attestations-workflows/.github/workflows/attest.yml@09b495c3f12c7881b3cc17209a327792065c1a1d',
    issuer: GHA_ISSUER,
    pass: true,
  },
  'sigstore-js-2.1.0-bundle-v0.1.json': {
    artifact: 'sigstore-js-2.1.0.tgz',
    root: 'prod',
    subject: SIGSTORE_JS,
    issuer: GHA_ISSUER,
    pass: true,
  },
  'sigstore-js-2.1.0-bundle.json': {
    artifact: 'sigstore-js-2.1.0.tgz',
    root: 'prod',
    subject: SIGSTORE_JS,
    issuer: GHA_ISSUER,
    pass: true,
  },
  'sigstore-js-2.1.0_with_2_bundles.jsonl': {
    artifact: 'sigstore-js-2.1.0.tgz',
    root: 'prod',
    subject: SIGSTORE_JS,
    issuer: GHA_ISSUER,
    pass: true,
  },
  'sigstoreBundle-invalid-signature.json': {
    artifact: 'sigstore-js-2.1.0.tgz',
    root: 'prod',
    subject: '',
    issuer: GHA_ISSUER,
    pass: false,
  },
};

let roots: Record<'prod' | 'github', TrustedRootJSON>;
beforeAll(async () => {
  roots = {
    prod: await loadTrustedRoot({ offline: true }),
    github: await loadTrustedRoot({ file: GITHUB_ROOT }),
  };
});

describe('gh attestation corpus', () => {
  it('the table covers every PASS/FAIL row of LISTING.tsv', () => {
    expect(rows.map((r) => path.basename(r.path)).sort()).toEqual(Object.keys(TABLE).sort());
  });

  it.each(Object.entries(TABLE))('%s', async (name, e) => {
    const file = path.join(DATA, name);
    const identities = e.subject
      ? [{ subject: e.subject, issuer: e.issuer }]
      : [{ subjectRegexp: '.*', issuerRegexp: '.*' }];
    for (const { text } of bundlesIn(file)) {
      const r = await verifyBundle(
        parseBundle(text, name),
        { kind: 'file', path: path.join(DATA, e.artifact) },
        { trustedRoot: roots[e.root], identities },
        { source: name },
      );
      expect(r.report.ok, r.report.error).toBe(e.pass);
      if (e.pass) {
        expect(r.signer).toMatchObject({ kind: 'certificate', subject: e.subject, issuer: e.issuer });
        expect(r.signedAt).toBeInstanceOf(Date);
      }
    }
  });

  it('the custom-issuer bundle fails when the default GitHub issuer is expected', async () => {
    const e = TABLE['custom-issuer.sigstore.json']!;
    const { bundle } = bundlesIn(path.join(DATA, 'custom-issuer.sigstore.json'))[0]!;
    const r = await verifyBundle(
      bundle,
      { kind: 'file', path: path.join(DATA, e.artifact) },
      { trustedRoot: roots.prod, identities: [{ subject: e.subject, issuer: GHA_ISSUER }] },
    );
    expect(r.report.error).toContain(
      'certificate issuer "https://token.actions.githubusercontent.com/hammer-time" != expected',
    );
  });

  it("the GitHub private-instance bundle fails with the public-good root, and passes via its TSA timestamp with GitHub's", async () => {
    const e = TABLE['github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl']!;
    const { bundle } = bundlesIn(
      path.join(DATA, 'github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl'),
    )[0]!;
    const artifact = { kind: 'file' as const, path: path.join(DATA, e.artifact) };
    const identities = [{ subject: e.subject, issuer: e.issuer }];
    expect((await verifyBundle(bundle, artifact, { trustedRoot: roots.prod, identities })).report.ok).toBe(
      false,
    );
    const ok = await verifyBundle(bundle, artifact, { trustedRoot: roots.github, identities });
    expect(ok.report.timestamps?.map((t) => t.source)).toEqual(['tsa']);
  });

  it('the sha512-subject npm provenance verifies by sha512 digest and fails for a sha256 of another file', async () => {
    const { bundle } = bundlesIn(path.join(DATA, 'sigstore-js-2.1.0-bundle.json'))[0]!;
    const identities = [{ subject: SIGSTORE_JS, issuer: GHA_ISSUER }];
    const { createHash } = await import('node:crypto');
    const { readFileSync } = await import('node:fs');
    const tgz = readFileSync(path.join(DATA, 'sigstore-js-2.1.0.tgz'));
    const sha512 = createHash('sha512').update(tgz).digest('hex');
    expect(
      (
        await verifyBundle(
          bundle,
          { kind: 'digest', algorithm: 'sha512', hex: sha512 },
          { trustedRoot: roots.prod, identities },
        )
      ).report.ok,
    ).toBe(true);
    const other = createHash('sha512').update('x').digest('hex');
    expect(
      (
        await verifyBundle(
          bundle,
          { kind: 'digest', algorithm: 'sha512', hex: other },
          { trustedRoot: roots.prod, identities },
        )
      ).report.ok,
    ).toBe(false);
  });
});
