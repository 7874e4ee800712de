/**
 * sigstore-js's test bundles (../shared/corpora/sigstore-js LISTING.tsv): DSSE and intoto log
 * entries, bundle v0.1–v0.3, with and without inclusion proofs, a full certificate chain; an email
 * identity (GitHub OAuth). They ship without artifacts: verified against the statement's subject.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import { parseBundle, verifyBundle, type ArtifactInput } from '../../src/verify/bundle.js';
import { bundlesIn, listing } from './corpora-listing.js';

const rows = listing('sigstore-js').filter(
  (r) => r.path.startsWith('tests/bundles/') && r.expected.startsWith('PASS'),
);
const identities = [{ subject: 'brian@dehamer.com', issuer: 'https://github.com/login/oauth' }];

let root: TrustedRootJSON;
beforeAll(async () => {
  root = await loadTrustedRoot({ offline: true });
});

function subjectOf(bundle: unknown): ArtifactInput {
  const payload = (bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload;
  const digest = (
    JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as {
      subject: { digest: Record<string, string> }[];
    }
  ).subject[0]!.digest;
  return digest.sha512
    ? { kind: 'digest', algorithm: 'sha512', hex: digest.sha512 }
    : { kind: 'digest', algorithm: 'sha256', hex: digest.sha256! };
}

describe('sigstore-js bundles', () => {
  it('lists nine bundles', () => expect(rows).toHaveLength(9));

  it.each(rows.map((r) => [r.path, r] as const))('%s', async (p, row) => {
    const { text, bundle } = bundlesIn(row.file)[0]!;
    const r = await verifyBundle(
      parseBundle(text, p),
      subjectOf(bundle),
      { trustedRoot: root, identities },
      { source: p },
    );
    expect(r.report.ok, r.report.error).toBe(true);
    expect(r.signer).toMatchObject({
      kind: 'certificate',
      subject: 'brian@dehamer.com',
      issuer: 'https://github.com/login/oauth',
    });
    const stranger = await verifyBundle(bundle, subjectOf(bundle), {
      trustedRoot: root,
      identities: [{ subject: 'brian@dehamer.co', issuer: 'https://github.com/login/oauth' }],
    });
    expect(stranger.report.ok).toBe(false);
  });
});
