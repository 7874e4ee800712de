import { describe, expect, it } from 'vitest';
import { buildVsa, slsaBuildLevel, VOUCH_VERIFIER_ID, VSA_PREDICATE_TYPE } from '../../src/promote/vsa.js';
import { validateStatement } from '../../src/attestation/index.js';

const hex = (c: string) => c.repeat(64);

const input = {
  subjectName: '127.0.0.1:5001/prod/app',
  digest: `sha256:${hex('a')}`,
  resourceUri: `127.0.0.1:5001/prod/app@sha256:${hex('a')}`,
  policy: { uri: 'file:///w/policy.yaml', sha256: hex('b') },
  inputAttestations: [
    { digest: `sha256:${hex('d')}`, uri: `127.0.0.1:5001/prod/app@sha256:${hex('e')}` },
    { digest: `sha256:${hex('c')}` },
    { digest: `sha256:${hex('d')}` },
  ],
  level: 3 as const,
  timeVerified: new Date('2026-12-03T10:00:00.000Z'),
  verifierVersion: { vouch: '0.1.0' },
};

describe('VSA v1 statement', () => {
  it('builds a PASSED summary for the destination digest', () => {
    const s = buildVsa(input);
    expect(s._type).toBe('https://in-toto.io/Statement/v1');
    expect(s.predicateType).toBe(VSA_PREDICATE_TYPE);
    expect(s.subject).toEqual([{ name: '127.0.0.1:5001/prod/app', digest: { sha256: hex('a') } }]);
    expect(s.predicate).toEqual({
      verifier: { id: VOUCH_VERIFIER_ID, version: { vouch: '0.1.0' } },
      timeVerified: '2026-12-03T10:00:00.000Z',
      resourceUri: input.resourceUri,
      policy: { uri: 'file:///w/policy.yaml', digest: { sha256: hex('b') } },
      // Deduplicated and sorted by digest.
      inputAttestations: [
        { digest: { sha256: hex('c') } },
        { uri: `127.0.0.1:5001/prod/app@sha256:${hex('e')}`, digest: { sha256: hex('d') } },
      ],
      verificationResult: 'PASSED',
      verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
      slsaVersion: '1.0',
    });
  });

  it('names exactly one build level, the one reached', () => {
    expect(slsaBuildLevel(0)).toBe('SLSA_BUILD_LEVEL_0');
    expect(buildVsa({ ...input, level: 2 }).predicate.verifiedLevels).toEqual(['SLSA_BUILD_LEVEL_2']);
  });

  it('accepts a sha256:-prefixed policy digest and rejects non-sha256 digests', () => {
    expect(
      buildVsa({ ...input, policy: { uri: 'p', sha256: `sha256:${hex('b')}` } }).predicate.policy.digest
        .sha256,
    ).toBe(hex('b'));
    expect(() => buildVsa({ ...input, digest: `sha512:${'a'.repeat(128)}` })).toThrow(/not a sha256 digest/);
    expect(() => buildVsa({ ...input, policy: { uri: 'p', sha256: 'xyz' } })).toThrow(/policy digest/);
    expect(() => buildVsa({ ...input, inputAttestations: [{ digest: 'sha256:short' }] })).toThrow(
      /input attestation/,
    );
  });

  it('validates against the VSA v1 schema', () => {
    expect(() => validateStatement(buildVsa(input))).not.toThrow();
    const bad = buildVsa(input) as unknown as { predicate: Record<string, unknown> };
    delete bad.predicate.resourceUri;
    expect(() => validateStatement(bad)).toThrow();
  });
});
