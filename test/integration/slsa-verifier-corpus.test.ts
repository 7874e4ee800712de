/**
 * slsa-verifier's offline-verifiable provenance (Sigstore bundles with log entries) verified with
 * the production trusted root embedded in src/trust, then evaluated against the expectations of
 * slsa-verifier's regression tests (regression-test-cases.json): each passing case verifies at
 * SLSA level 3, each failing one fails with the mismatching field named.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { policyFromDocument, type LoadedPolicy } from '../../src/policy/index.js';
import { loadTrustedRoot, type TrustedRootJSON } from '../../src/trust/index.js';
import {
  buildVerdict,
  parseBundle,
  planVerification,
  verifyBundle,
  type Expectations,
  type VerifiedBundle,
} from '../../src/verify/index.js';

const ROOT = path.resolve(import.meta.dirname, '../../../shared/corpora/slsa-verifier');
const TESTDATA = path.join(ROOT, 'cli/slsa-verifier/testdata');
const SOURCE = 'github.com/slsa-framework/example-package';

interface Row {
  file: string;
  artifact: string;
  digest: string;
  ref: string;
}

const sums = new Map(
  readFileSync(path.join(ROOT, 'artifact-sha256sums.txt'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [hex, p] = l.split(/\s+/);
      return [p!.replace(/^\.\//, ''), hex!] as const;
    }),
);

const rows: Row[] = readFileSync(path.join(ROOT, 'LISTING.tsv'), 'utf8')
  .split('\n')
  .slice(1)
  .map((l) => l.split('\t'))
  .filter((c) => c[2]?.includes('OFFLINE-OK'))
  .map(([p]) => {
    const file = p!.replace('cli/slsa-verifier/testdata/', '');
    const artifact = file.replace(/\.(intoto\.build\.slsa|build\.slsa|intoto\.sigstore|intoto\.jsonl)$/, '');
    // The ref each build ran on is encoded in the artifact name (push-v14 → refs/tags/v14,
    // workflow_dispatch → main), as slsa-verifier's e2e workflows name them.
    const tag = /-(v[0-9.]+)$/.exec(artifact)?.[1];
    return {
      file,
      artifact,
      digest: sums.get(artifact) ?? '',
      ref: tag ? `refs/tags/${tag}` : 'refs/heads/main',
    };
  });

interface Case {
  test: string;
  name: string;
  artifacts: string[];
  source: string;
  pbranch?: string;
  ptag?: string;
  pversiontag?: string;
  pBuilderID?: string;
  noversion?: string;
  builders?: string[];
  err: string;
}
const cases = (
  JSON.parse(readFileSync(path.join(ROOT, 'regression-test-cases.json'), 'utf8')) as Case[]
).filter(
  (c) =>
    (c.test === 'Test_runVerifyGHAArtifactPath' || c.test === 'Test_runVerifyGHAContainerBased') &&
    !c.noversion &&
    !c.builders,
);

const FIELD: Record<string, string[]> = {
  'serrors.ErrorMismatchSource': ['source.uri'],
  'serrors.ErrorMismatchBranch': ['source.branch'],
  'serrors.ErrorMismatchTag': ['source.tag'],
  'serrors.ErrorMismatchVersionedTag': ['source.versionedTag'],
  'serrors.ErrorInvalidRef': ['source.branch', 'source.tag', 'source.versionedTag'],
  'serrors.ErrorUntrustedReusableWorkflow': ['builder.id'],
};

const ISSUER = 'https://token.actions.githubusercontent.com';
// The builders slsa-verifier trusts: slsa-github-generator's reusable workflows at a release tag
// (or at refs/heads/main, which slsa-verifier allows for its e2e repository example-package), and
// the example TRW (tool reusable workflow) whose provenance the generator's delegator workflows sign.
const policyDoc = {
  version: 1,
  signers: [
    {
      name: 'slsa-github-generator',
      identity: {
        issuer: ISSUER,
        subjectRegexp:
          'https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/[a-z_-]+_slsa3\\.yml@refs/(tags/v[0-9.]+|heads/main)',
      },
    },
  ],
  builders: [
    {
      idRegexp:
        'https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/(builder|generator)_[a-z_-]+_slsa3\\.yml@refs/tags/v[0-9.]+',
      maxLevel: 3,
    },
    {
      id: 'https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml',
      maxLevel: 3,
    },
  ],
};

let trustedRoot: TrustedRootJSON;
let policy: LoadedPolicy;
const verified = new Map<string, VerifiedBundle>();

beforeAll(async () => {
  trustedRoot = await loadTrustedRoot({ offline: true });
  policy = policyFromDocument(policyDoc, { uri: 'test:slsa-verifier-policy', baseDir: ROOT });
  const plan = await planVerification({ trust: { trustedRoot }, policy });
  for (const r of rows) {
    const bytes = readFileSync(path.join(TESTDATA, r.file));
    const bundle = parseBundle(bytes.toString('utf8').split('\n')[0]!, r.file);
    verified.set(
      r.file,
      await verifyBundle(bundle, { kind: 'digest', algorithm: 'sha256', hex: r.digest }, plan.trust, {
        source: r.file,
        bytes,
      }),
    );
  }
}, 120_000);

async function verdictFor(r: Row, exp: Expectations) {
  const plan = await planVerification({
    trust: { trustedRoot },
    policy,
    expectations: { minSlsaLevel: 3, ...exp },
  });
  return buildVerdict(
    r.artifact,
    `sha256:${r.digest}`,
    [{ verified: structuredClone(verified.get(r.file)!) }],
    plan,
  );
}

describe('slsa-verifier offline provenance corpus', () => {
  it('lists the offline-verifiable bundles with their artifact digests', () => {
    expect(rows.length).toBeGreaterThanOrEqual(80);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.digest))).toBe(true);
  });

  it.each(rows.map((r) => [r.file, r]))(
    '%s verifies with the production root at SLSA level 3',
    async (_f, r) => {
      const vb = verified.get(r.file)!;
      expect(vb.report.error).toBeUndefined();
      expect(vb.report.ok).toBe(true);
      const v = await verdictFor(r, { source: { uri: SOURCE } });
      expect(v.checks.filter((c) => !c.ok)).toEqual([]);
      expect(v.slsaLevel).toBe(3);
      expect(v.ok).toBe(true);
    },
  );

  it.each(rows.map((r) => [r.file, r]))(
    '%s: its own ref passes, other refs fail with the field named',
    async (_f, r) => {
      const isTag = r.ref.startsWith('refs/tags/');
      const name = r.ref.replace(/^refs\/(tags|heads)\//, '');
      const pass = isTag ? [{ tags: [name] }, { versionedTag: name.split('.')[0]! }] : [{ branches: [name] }];
      const fail: [object, string][] = isTag
        ? [
            [{ tags: [`${name}.1`] }, 'source.tag'],
            [{ branches: ['main'] }, 'source.branch'],
            [{ versionedTag: 'v99' }, 'source.versionedTag'],
          ]
        : [
            [{ branches: ['master'] }, 'source.branch'],
            [{ tags: ['v1.2.3'] }, 'source.tag'],
          ];
      for (const s of pass)
        expect((await verdictFor(r, { source: { uri: SOURCE, ...s } })).ok, JSON.stringify(s)).toBe(true);
      for (const [s, field] of fail) {
        const v = await verdictFor(r, { source: { uri: SOURCE, ...s } });
        expect(v.ok, JSON.stringify(s)).toBe(false);
        expect(v.checks.filter((c) => !c.ok).map((c) => c.field)).toContain(field);
      }
    },
  );

  const applied = rows.flatMap((r) =>
    cases
      .filter(
        (c) =>
          c.artifacts[0] === path.basename(r.artifact) &&
          (c.test === 'Test_runVerifyGHAArtifactPath' || r.file.startsWith('gha_container-based/')),
      )
      .map((c) => [`${r.file} — ${c.test}: ${c.name}`, r, c] as const),
  );

  it('applies the regression cases to the offline bundles', () => {
    expect(applied.length).toBeGreaterThan(300);
  });

  it.each(applied)('%s', async (_n, r, c) => {
    const source: NonNullable<Expectations['source']> = { uri: c.source };
    if (c.pbranch) source.branches = [c.pbranch];
    if (c.ptag) source.tags = [c.ptag];
    if (c.pversiontag) source.versionedTag = c.pversiontag;
    const v = await verdictFor(r, { source, ...(c.pBuilderID ? { builderId: c.pBuilderID } : {}) });
    if (c.err === '(none: expect success)') {
      expect(v.checks.filter((x) => !x.ok)).toEqual([]);
      expect(v.ok).toBe(true);
    } else {
      expect(v.ok).toBe(false);
      const fields = v.checks.filter((x) => !x.ok).map((x) => x.field);
      expect(FIELD[c.err], c.err).toBeDefined();
      expect(
        fields.some((f) => FIELD[c.err]!.includes(f!)),
        `${c.err} → ${fields.join(',')}`,
      ).toBe(true);
    }
  });
});
