import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/policy/index.js';
import {
  builderIdMatches,
  checkExpectations,
  checkVulns,
  countVulns,
  evaluateLevel,
  evaluateVsa,
  provenanceFacts,
  verifyDsseEnvelopeWithKey,
  versionedTagMatches,
  type ProvenanceEvidence,
} from '../../src/verify/index.js';

const CORPUS = path.resolve(
  import.meta.dirname,
  '../../../shared/corpora/slsa-verifier/cli/slsa-verifier/testdata',
);
const DIGEST = 'a'.repeat(64);
const GEN = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml';

function v1(builderId: string, ref = 'refs/heads/main', repo = 'git+https://github.com/acme/app') {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'app', digest: { sha256: DIGEST } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'x',
        externalParameters: {},
        resolvedDependencies: [{ uri: `${repo}@${ref}`, digest: { gitCommit: 'c0ffee' } }],
      },
      runDetails: { builder: { id: builderId } },
    },
  };
}

function v02(builderId: string, ref = 'refs/tags/v1.2.3') {
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ name: 'app', digest: { sha256: DIGEST } }],
    predicateType: 'https://slsa.dev/provenance/v0.2',
    predicate: {
      builder: { id: builderId },
      buildType: 'y',
      invocation: {
        configSource: { uri: `git+https://github.com/acme/app@${ref}`, digest: { sha1: 'c0ffee' } },
      },
    },
  };
}

const policy: Policy = {
  version: 1,
  signers: [
    {
      name: 'ci',
      identity: {
        issuer: 'https://token.actions.githubusercontent.com',
        subjectRegexp: 'https://github\\.com/acme/.*',
      },
    },
    {
      name: 'gen',
      identity: {
        issuer: 'https://token.actions.githubusercontent.com',
        subjectRegexp: `${GEN.replaceAll('.', '\\.')}@refs/tags/v.*`,
      },
    },
  ],
  builders: [
    { id: 'https://github.com/actions/runner/github-hosted', maxLevel: 2, signers: ['ci'] },
    { id: GEN, maxLevel: 3, signers: ['gen'] },
    { idRegexp: 'https://builder\\.example/[a-z]+', maxLevel: 1 },
  ],
};

const ev = (statement: object, signerIds: string[]): ProvenanceEvidence => ({
  source: 'test',
  statement,
  signerIds,
  signer: signerIds.join(','),
});

describe('expectations (slsa-verifier semantics)', () => {
  it.each([
    ['v13', 'v13.0.30', true],
    ['v13.0', 'v13.0.30', true],
    ['v13.0.30', 'v13.0.30', true],
    ['v13.1', 'v13.0.30', false],
    ['v12.9', 'v13.0.30', false],
    ['v13.0.29', 'v13.0.30', false],
    ['v14', 'v14', true],
    ['v14.0', 'v14', true],
    ['v14.1', 'v14', false],
    ['v14', 'v14.2', true],
    ['v14.2.1', 'v14.2', false],
    ['v15', 'v14.2', false],
  ])('versioned tag %s vs tag %s → %s', (want, tag, ok) => {
    expect(versionedTagMatches(want, tag)).toBe(ok);
  });

  it('builder ids: an id without @ref matches any ref; with @ref only that ref', () => {
    expect(builderIdMatches(GEN, `${GEN}@refs/tags/v2.1.0`)).toBe(true);
    expect(builderIdMatches(`${GEN}@refs/tags/v2.1.0`, `${GEN}@refs/tags/v2.1.0`)).toBe(true);
    expect(builderIdMatches(`${GEN}@refs/tags/v2.0.0`, `${GEN}@refs/tags/v2.1.0`)).toBe(false);
    expect(builderIdMatches(GEN.replace('go', 'not-trusted'), `${GEN}@refs/tags/v2.1.0`)).toBe(false);
    expect(builderIdMatches(GEN.slice(0, -4), `${GEN}@refs/tags/v2.1.0`)).toBe(false);
  });

  it('reads source and builder from provenance v1 and v0.2', () => {
    expect(provenanceFacts(v1('b', 'refs/heads/main'))).toMatchObject({
      builderId: 'b',
      sourceUri: 'git+https://github.com/acme/app',
      sourceRef: 'refs/heads/main',
    });
    expect(provenanceFacts(v02('c', 'refs/tags/v1.2.3'))).toMatchObject({
      builderId: 'c',
      sourceUri: 'git+https://github.com/acme/app',
      sourceRef: 'refs/tags/v1.2.3',
    });
  });

  it('each mismatch names its field', () => {
    const facts = provenanceFacts(v1(`${GEN}@refs/tags/v2.1.0`, 'refs/tags/v1.2.3'));
    const failedFields = (exp: Parameters<typeof checkExpectations>[1]) =>
      checkExpectations(facts, exp)
        .filter((c) => !c.ok)
        .map((c) => c.field);
    expect(failedFields({ source: { uri: 'github.com/acme/app' } })).toEqual([]);
    expect(failedFields({ source: { uri: 'https://github.com/acme/app/' } })).toEqual([]);
    expect(failedFields({ source: { uri: 'github.com/acme/appA' } })).toEqual(['source.uri']);
    expect(failedFields({ source: { uri: 'Agithub.com/acme/app' } })).toEqual(['source.uri']);
    expect(failedFields({ source: { branches: ['main'] } })).toEqual(['source.branch']);
    expect(failedFields({ source: { tags: ['v1.2.3'] } })).toEqual([]);
    expect(failedFields({ source: { tags: ['v1.2'] } })).toEqual(['source.tag']);
    expect(failedFields({ source: { versionedTag: 'v1.2' } })).toEqual([]);
    expect(failedFields({ source: { versionedTag: 'v1.3' } })).toEqual(['source.versionedTag']);
    expect(failedFields({ builderId: GEN })).toEqual([]);
    expect(failedFields({ builderId: 'https://example/other' })).toEqual(['builder.id']);
  });
});

describe('SLSA build level', () => {
  it('L0 without provenance', () => {
    const r = evaluateLevel([], policy, {});
    expect(r.level).toBe(0);
    expect(r.reason).toMatch(/no verified provenance/);
  });

  it('L1 when the builder is not trusted, naming it', () => {
    const r = evaluateLevel([ev(v1('https://untrusted.example/b'), ['ci'])], policy, {});
    expect(r).toMatchObject({ level: 1 });
    expect(r.reason).toMatch(/builder https:\/\/untrusted.example\/b is not trusted/);
  });

  it('L1 when the signer is not trusted for that builder', () => {
    const r = evaluateLevel([ev(v1(`${GEN}@refs/tags/v2.1.0`), ['ci'])], policy, {});
    expect(r.level).toBe(1);
    expect(r.reason).toMatch(/not trusted for builder/);
  });

  it('L1 when the policy caps the builder at 1 (idRegexp anchored)', () => {
    expect(evaluateLevel([ev(v1('https://builder.example/abc'), ['ci'])], policy, {}).level).toBe(1);
    // Anchored: a suffix does not match the regexp, so the builder is untrusted.
    const r = evaluateLevel([ev(v1('https://builder.example/abc/evil'), ['ci'])], policy, {});
    expect(r.reason).toMatch(/not trusted by the policy/);
  });

  it('L2 for a hosted builder signed by its trusted signer, saying why not 3', () => {
    const r = evaluateLevel([ev(v1('https://github.com/actions/runner/github-hosted'), ['ci'])], policy, {});
    expect(r.level).toBe(2);
    expect(r.reason).toMatch(/up to level 2/);
  });

  it('L3 for a level-3 builder, v1 and v0.2, with any ref of a ref-less policy id', () => {
    expect(evaluateLevel([ev(v1(`${GEN}@refs/tags/v2.1.0`), ['gen'])], policy, {})).toMatchObject({
      level: 3,
      reason: '',
    });
    expect(evaluateLevel([ev(v02(`${GEN}@refs/tags/v1.9.0`), ['gen'])], policy, {}).level).toBe(3);
  });

  it('a failed expectation caps the level at 1 and the best matching provenance wins', () => {
    const l3 = ev(v1(`${GEN}@refs/tags/v2.1.0`, 'refs/heads/dev'), ['gen']);
    const l2 = ev(v1('https://github.com/actions/runner/github-hosted', 'refs/heads/main'), ['ci']);
    const capped = evaluateLevel([l3], policy, { source: { branches: ['main'] } });
    expect(capped.level).toBe(1);
    expect(capped.checks.find((c) => !c.ok)?.field).toBe('source.branch');
    const best = evaluateLevel([l3, l2], policy, { source: { branches: ['main'] } });
    expect(best.level).toBe(2);
    expect(best.checks.every((c) => c.ok)).toBe(true);
  });
});

describe('vulnerability thresholds', () => {
  const scan = (scores: string[]) => ({
    scanner: {
      uri: 'x',
      result: scores.map((s, i) => ({ id: `CVE-${i}`, severity: [{ method: 'nvd', score: s }] })),
    },
  });

  it('counts severities from words and CVSS scores', () => {
    expect(countVulns(scan(['CRITICAL', 'high', '7.5', '4.0', 'low', 'weird']))).toEqual({
      critical: 1,
      high: 2,
      medium: 1,
      low: 1,
      unknown: 1,
      total: 6,
    });
  });

  it('maxSeverity and maxCounts fail with the field named', () => {
    const checks = checkVulns([scan(['high', 'medium'])], {
      maxSeverity: 'medium',
      maxCounts: { medium: 0 },
    });
    expect(checks.filter((c) => !c.ok).map((c) => c.field)).toEqual([
      'vulnerabilities.maxSeverity',
      'vulnerabilities.maxCounts.medium',
    ]);
    expect(checkVulns([scan(['low'])], { maxSeverity: 'medium' }).every((c) => c.ok)).toBe(true);
  });

  it('a stated threshold without a vulns attestation fails', () => {
    const c = checkVulns([], { maxSeverity: 'critical' });
    expect(c).toHaveLength(1);
    expect(c[0]!.ok).toBe(false);
    expect(checkVulns([], undefined)).toEqual([]);
  });
});

describe('VSA evidence (slsa-verifier GKE VSA vector)', () => {
  const load = async () => {
    const env = JSON.parse(
      (await readFile(path.join(CORPUS, 'vsa/gce/v1/gke-gce-pre.bcid-vsa.jsonl'), 'utf8')).split('\n')[0]!,
    ) as object;
    const key = createPublicKey(await readFile(path.join(CORPUS, 'vsa/gce/v1/vsa_signing_public_key.pem')));
    return { env, key };
  };
  const exp = {
    verifierIds: ['https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1'],
    resourceUri: 'gce_image://gke-node-images:gke-12615-gke1418000-cos-101-17162-463-29-c-cgpv1-pre',
    subjectDigest: { gce_image_id: '8970095005306000053' },
  };

  it('verifies with the key and key id, and yields SLSA_BUILD_LEVEL_2', async () => {
    const { env, key } = await load();
    const v = verifyDsseEnvelopeWithKey(env, key, 'keystore://76574:prod:vsa_signing_public_key');
    expect(v).toBeDefined();
    const r = evaluateVsa(v!.statement, { ...exp, requiredLevel: 2 });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r).toMatchObject({ ok: true, level: 2 });
  });

  it('an empty or wrong key id is no valid signature', async () => {
    const { env, key } = await load();
    expect(verifyDsseEnvelopeWithKey(env, key, '')).toBeUndefined();
    expect(verifyDsseEnvelopeWithKey(env, key, 'my_key_id')).toBeUndefined();
  });

  it('refuses a VSA below the required level, from another verifier, or for another resource', async () => {
    const { env, key } = await load();
    const st = verifyDsseEnvelopeWithKey(env, key)!.statement;
    const field = (e: Parameters<typeof evaluateVsa>[1]) =>
      evaluateVsa(st, e)
        .checks.filter((c) => !c.ok)
        .map((c) => c.field);
    expect(field({ ...exp, requiredLevel: 3 })).toEqual(['verifiedLevels']);
    expect(field({ ...exp, verifierIds: ['https://other.example'] })).toEqual(['verifier.id']);
    expect(field({ ...exp, resourceUri: 'gce_image://other' })).toEqual(['resourceUri']);
    expect(field({ ...exp, subjectDigest: { gce_image_id: '1' } })).toEqual(['subject']);
    expect(evaluateVsa(st, { ...exp, requiredLevel: 3 }).level).toBe(0);
  });

  it('for images, both a subject and resourceUri must name the digest; FAILED is not evidence', () => {
    const d = `sha256:${DIGEST}`;
    const vsa = (over: object) => ({
      predicateType: 'https://slsa.dev/verification_summary/v1',
      subject: [{ name: 'r/app', digest: { sha256: DIGEST } }],
      predicate: {
        verifier: { id: 'https://vouch.dev/promote/v1' },
        verificationResult: 'PASSED',
        resourceUri: `oci://r/app@${d}`,
        verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
        ...over,
      },
    });
    const e = { verifierIds: ['https://vouch.dev/promote/v1'], digest: d, requiredLevel: 3 as const };
    expect(evaluateVsa(vsa({}), e)).toMatchObject({ ok: true, level: 3 });
    expect(evaluateVsa(vsa({ verificationResult: 'FAILED' }), e).ok).toBe(false);
    expect(evaluateVsa(vsa({ resourceUri: `oci://r/app@sha256:${'b'.repeat(64)}` }), e).ok).toBe(false);
  });
});
