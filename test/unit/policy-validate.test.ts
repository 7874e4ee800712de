import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  describePolicy,
  loadPolicy,
  policyInit,
  policyWarnings,
  resolvePolicyKey,
  validatePolicy,
  type Policy,
} from '../../src/policy/index.js';
import { VouchError } from '../../src/errors.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const good: Policy = {
  version: 1,
  signers: [{ name: 'ci', identity: { issuer: ISSUER, subjectRegexp: 'https://github\\.com/acme/.*' } }],
  builders: [{ id: 'https://github.com/actions/runner/github-hosted', maxLevel: 3, signers: ['ci'] }],
  minSlsaLevel: 3,
  source: { uri: 'github.com/acme/app', branches: ['main'] },
  vulnerabilities: { maxSeverity: 'high', maxCounts: { high: 2 } },
  promotion: { sources: ['reg/staging/*'], destinations: ['reg/prod/*'] },
};

function messages(doc: unknown): string[] {
  return validatePolicy(doc).map((p) => `${p.path}: ${p.message}`);
}

describe('validatePolicy', () => {
  it('accepts a complete, consistent policy', () => {
    expect(validatePolicy(good)).toEqual([]);
  });

  it.each([
    ['null', null],
    ['empty object', {}],
  ])('refuses an empty policy (%s)', (_n, doc) => {
    expect(messages(doc).join('\n')).toMatch(/empty/);
  });

  it('refuses a policy without signers', () => {
    expect(messages({ version: 1, signers: [] }).join('\n')).toMatch(/signers/);
    expect(messages({ version: 1 }).join('\n')).toMatch(/signers/);
  });

  it('refuses a signer with both identity and key', () => {
    const doc = {
      version: 1,
      signers: [{ identity: { issuer: ISSUER, subject: 'a' }, key: { path: 'k.pub' } }],
    };
    expect(messages(doc).join('\n')).toMatch(/both "identity" and "key"/);
  });

  it('refuses an identity with exact and regexp for the same field', () => {
    const doc = {
      version: 1,
      signers: [{ identity: { issuer: ISSUER, subject: 'a', subjectRegexp: 'a.*' } }],
    };
    expect(messages(doc).join('\n')).toMatch(/both "subject" and "subjectRegexp"/);
  });

  it('refuses an identity without issuer (it would accept any issuer)', () => {
    expect(messages({ version: 1, signers: [{ identity: { subject: 'a' } }] }).join('\n')).toMatch(/issuer/);
  });

  it('refuses unknown signer names in builders', () => {
    const doc = { ...good, builders: [{ id: 'b', maxLevel: 2, signers: ['nobody'] }], minSlsaLevel: 2 };
    expect(messages(doc).join('\n')).toMatch(/unknown signer name "nobody"/);
  });

  it('refuses minSlsaLevel 3 with no level-3 builder', () => {
    const doc = { ...good, builders: [{ id: 'b', maxLevel: 2 }] };
    expect(messages(doc).join('\n')).toMatch(/minSlsaLevel 3 is unreachable/);
    expect(messages({ ...good, builders: undefined }).join('\n')).toMatch(/unreachable/);
  });

  it('refuses a ref that is both a branch and a tag', () => {
    expect(messages({ ...good, source: { branches: ['main'], tags: ['v1'] } }).join('\n')).toMatch(
      /exactly one of/,
    );
  });

  it('refuses unknown fields, bad levels, invalid regexps', () => {
    expect(messages({ ...good, extra: true }).join('\n')).toMatch(/unknown field "extra"/);
    expect(messages({ ...good, minSlsaLevel: 4 }).join('\n')).toMatch(/minSlsaLevel/);
    const badRe = { version: 1, signers: [{ identity: { issuer: ISSUER, subjectRegexp: '(' } }] };
    expect(messages(badRe).join('\n')).toMatch(/invalid regular expression/);
  });

  it('refuses a builder with both id and idRegexp, and duplicate signer names', () => {
    const doc = {
      version: 1,
      signers: [
        { name: 'x', key: { path: 'a.pub' } },
        { name: 'x', key: { path: 'b.pub' } },
      ],
      builders: [{ id: 'a', idRegexp: 'a', maxLevel: 1 }],
    };
    const m = messages(doc).join('\n');
    expect(m).toMatch(/both "id" and "idRegexp"/);
    expect(m).toMatch(/duplicate signer name/);
  });
});

describe('loadPolicy', () => {
  it('loads YAML and JSON, records sha256 and base dir, and resolves relative keys', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-pol-'));
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(path.join(dir, 'k.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const yaml = 'version: 1\nsigners:\n  - name: k\n    key: {path: k.pub}\n';
    await writeFile(path.join(dir, 'p.yaml'), yaml);
    await writeFile(
      path.join(dir, 'p.json'),
      JSON.stringify({ version: 1, signers: [{ key: { path: 'k.pub' } }] }),
    );
    const y = await loadPolicy(path.join(dir, 'p.yaml'));
    const j = await loadPolicy(path.join(dir, 'p.json'));
    expect(y.policy.signers[0]!.name).toBe('k');
    expect(j.policy.signers).toHaveLength(1);
    expect(y.baseDir).toBe(dir);
    expect(y.uri).toMatch(/^file:\/\//);
    expect(y.sha256).toMatch(/^[0-9a-f]{64}$/);
    const key = await resolvePolicyKey(y.policy.signers[0]!.key!, y.baseDir);
    expect(key.type).toBe('public');
  });

  it('rejects invalid, empty and unreadable policies with exit 2', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-pol-'));
    await writeFile(path.join(dir, 'empty.yaml'), '');
    await writeFile(path.join(dir, 'bad.yaml'), 'version: [1\n');
    await writeFile(path.join(dir, 'dup.yaml'), 'version: 1\nversion: 1\nsigners: []\n');
    for (const f of ['empty.yaml', 'bad.yaml', 'dup.yaml', 'missing.yaml']) {
      const err = await loadPolicy(path.join(dir, f)).catch((e: unknown) => e);
      expect(err, f).toBeInstanceOf(VouchError);
      expect((err as VouchError).exitCode, f).toBe(2);
    }
  });

  it('refuses a private key where a public key belongs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-pol-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(path.join(dir, 'k.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const err = await resolvePolicyKey({ path: 'k.key' }, dir).catch((e: unknown) => e);
    expect((err as VouchError).code).toBe('POLICY_KEY_PRIVATE');
  });
});

describe('describePolicy', () => {
  it('says in plain words what the policy allows', () => {
    const text = describePolicy(good).join('\n');
    expect(text).toMatch(/Accepts signatures and attestations from 1 signer/);
    expect(text).toMatch(/level 3 when its provenance is signed by "ci"/);
    expect(text).toMatch(/Requires SLSA Build level 3 or higher/);
    expect(text).toMatch(/from repository github.com\/acme\/app, on branch main/);
    expect(text).toMatch(/no finding above high severity, at most 2 high findings/);
    expect(text).toMatch(/Allows promotion from reg\/staging\/\* to reg\/prod\/\*/);
  });
});

describe('policyInit', () => {
  it('builds a key policy with the key path relative to the output file', () => {
    const p = policyInit({
      key: '/work/keys/vouch.pub',
      builderIds: ['https://b.example/hosted@v1', 'https://b.example/other'],
      builderLevels: [3, 1],
      minSlsaLevel: 3,
      promoteFrom: ['r1/staging/*'],
      promoteTo: ['r2/prod/*'],
      out: '/work/policies/p.yaml',
    });
    expect(p.signers).toEqual([{ name: 'default', key: { path: '../keys/vouch.pub' } }]);
    expect(p.builders).toEqual([
      { id: 'https://b.example/hosted@v1', maxLevel: 3 },
      { id: 'https://b.example/other', maxLevel: 1 },
    ]);
    expect(p.promotion).toEqual({ sources: ['r1/staging/*'], destinations: ['r2/prod/*'] });
    expect(validatePolicy(p)).toEqual([]);
  });

  it('builds a keyless policy with source expectations and a severity threshold', () => {
    const p = policyInit({
      certificateIdentityRegexp: 'https://github\\.com/acme/.*',
      certificateOidcIssuer: ISSUER,
      sourceUri: 'github.com/acme/app',
      sourceBranch: 'main',
      maxSeverity: 'high',
    });
    expect(p.signers[0]!.identity).toEqual({ issuer: ISSUER, subjectRegexp: 'https://github\\.com/acme/.*' });
    expect(p.source).toEqual({ uri: 'github.com/acme/app', branches: ['main'] });
    expect(p.vulnerabilities).toEqual({ maxSeverity: 'high' });
  });

  it.each([
    ['no signer', {}],
    ['key and identity', { key: 'k.pub', certificateIdentity: 'a', certificateOidcIssuer: ISSUER }],
    ['identity without issuer', { certificateIdentity: 'a' }],
    ['more levels than ids', { key: 'k.pub', builderIds: ['b'], builderLevels: [1, 2] }],
    ['promotion half given', { key: 'k.pub', promoteFrom: ['a/*'] }],
  ])('refuses %s with exit 2', (_n, opts) => {
    let err: unknown;
    try {
      policyInit(opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VouchError);
    expect((err as VouchError).exitCode).toBe(2);
  });
});

describe('unsatisfiable policies', () => {
  it('init writes them with a warning; loading accepts them with the warning; validation lists it', async () => {
    const p = policyInit({ key: 'k.pub', builderIds: ['b'], builderLevels: [1], minSlsaLevel: 3 });
    expect(policyWarnings(p).join('\n')).toMatch(/minSlsaLevel 3 is unreachable/);
    expect(validatePolicy(p).map((x) => x.severity)).toEqual(['warning']);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-pol-'));
    await writeFile(path.join(dir, 'p.yaml'), JSON.stringify(p));
    const loaded = await loadPolicy(path.join(dir, 'p.yaml'));
    expect(loaded.warnings?.join('\n')).toMatch(/unreachable/);
  });
});

describe('docs/policy.md', () => {
  it('documents every schema property, and documents no property the schema lacks', async () => {
    const schema = JSON.parse(
      await readFile(new URL('../../schemas/policy.schema.json', import.meta.url), 'utf8'),
    ) as object;
    const props = new Set<string>();
    const walk = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      if (n.properties && typeof n.properties === 'object')
        for (const k of Object.keys(n.properties)) props.add(k);
      for (const v of Object.values(n)) walk(v);
    };
    walk(schema);
    const doc = await readFile(new URL('../../docs/policy.md', import.meta.url), 'utf8');
    // Field headings in the reference section are written `### \`path.to.field\``.
    const documented = new Set(
      [...doc.matchAll(/^#{2,4} `([A-Za-z0-9_.[\]]+)`/gm)].map((m) =>
        m[1]!.split('.').pop()!.replace('[]', ''),
      ),
    );
    const missing = [...props].filter((p) => !documented.has(p));
    const extra = [...documented].filter((p) => !props.has(p));
    expect(missing, 'schema properties missing from docs/policy.md').toEqual([]);
    expect(extra, 'docs/policy.md documents fields the schema lacks').toEqual([]);
  });
});
