/**
 * The JSON Schemas in schemas/ against public vectors: the in-toto Go validator fixtures
 * (expected valid/invalid per entry), the examples extracted from the in-toto spec text, and
 * every provenance/VSA statement in slsa-verifier's testdata.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSchema, checkStatement, type SchemaName } from '../../src/attestation/index.js';
import { ROOT } from '../support/cli.js';

const CORPORA = path.resolve(ROOT, '../shared/corpora');
const ATTESTATION = path.join(CORPORA, 'attestation');

interface GoFixture {
  source: string;
  name: string;
  json: unknown;
  expect: 'valid' | 'invalid';
  error: string | null;
}

const goFixtures = JSON.parse(
  readFileSync(path.join(ATTESTATION, 'extracted-go-test-fixtures.json'), 'utf8'),
) as GoFixture[];

function schemaForSource(source: string): SchemaName {
  if (source.includes('statement_test')) return 'statement';
  if (source.includes('resource_descriptor_test')) return 'resourceDescriptor';
  if (source.includes('provenance/v1')) return 'slsaProvenanceV1';
  throw new Error(`no schema for ${source}`);
}

describe('in-toto Go validator fixtures', () => {
  it('covers all 22 entries (6 valid, 16 invalid)', () => {
    expect(goFixtures).toHaveLength(22);
    expect(goFixtures.filter((f) => f.expect === 'valid')).toHaveLength(6);
  });
  for (const f of goFixtures) {
    it(`${f.source} ${f.name}: ${f.expect}${f.error ? ` (${f.error})` : ''}`, () => {
      const problem = checkSchema(schemaForSource(f.source), f.json);
      if (f.expect === 'valid') expect(problem).toBeUndefined();
      else expect(problem, 'should be rejected').toBeDefined();
    });
  }
});

/** Digests the spec text elides as `abc...` (not real values) and the length their algorithm needs. */
const HEX_LEN: Record<string, number> = { sha256: 64, sha512: 128, sha1: 40, gitCommit: 40, gitBlob: 40 };
function expandElidedDigests(v: unknown, found: string[]): unknown {
  if (Array.isArray(v)) return v.map((x) => expandElidedDigests(x, found));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'digest' && x && typeof x === 'object') {
        const d: Record<string, unknown> = {};
        for (const [alg, hex] of Object.entries(x)) {
          if (typeof hex === 'string' && hex.endsWith('...') && HEX_LEN[alg]) {
            found.push(`${alg}:${hex}`);
            d[alg] = hex.slice(0, -3).toLowerCase().padEnd(HEX_LEN[alg]!, '0');
          } else d[alg] = hex;
        }
        out[k] = d;
      } else out[k] = expandElidedDigests(x, found);
    }
    return out;
  }
  return v;
}

describe('examples extracted from the in-toto spec text', () => {
  const dir = path.join(ATTESTATION, 'extracted-examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  it('finds the 15 listed examples', () => expect(files).toHaveLength(15));
  for (const file of files) {
    it(`${file} is valid`, () => {
      const doc = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
      const schema: SchemaName = doc._type
        ? 'statement'
        : doc.payloadType
          ? 'dsseEnvelope'
          : 'resourceDescriptor';
      const elided: string[] = [];
      const expanded = expandElidedDigests(doc, elided);
      const problem = schema === 'statement' ? checkStatement(expanded) : checkSchema(schema, expanded);
      expect(problem).toBeUndefined();
      // The strict digest rules still apply to the text as written: an elided digest is not hex.
      if (elided.length > 0) expect(checkSchema(schema, doc)?.schemaPath).toMatch(/digestSet|hex/);
    });
  }
});

describe('the vulns v0.2 spec example', () => {
  it('validates once its `{...}` placeholder entry is dropped', () => {
    const text = readFileSync(path.join(ATTESTATION, 'spec/predicates/vulns_02.md'), 'utf8');
    const block = /```jsonc\n([\s\S]*?)```/.exec(text)![1]!;
    const json = block
      .split('\n')
      .filter((l) => !l.trim().startsWith('//'))
      .join('\n')
      .replace(/,\s*\{\.\.\.\}/g, '');
    const stmt = JSON.parse(json) as unknown;
    expect(checkStatement(stmt)).toBeUndefined();
    const broken = structuredClone(stmt) as { predicate: { metadata: Record<string, unknown> } };
    delete broken.predicate.metadata.scanFinishedOn;
    expect(checkStatement(broken)).toMatchObject({
      instancePath: '/predicate/metadata',
      schema: 'vulns-v0.2.schema.json',
    });
  });
});

describe('slsa-verifier testdata statements', () => {
  const root = path.join(CORPORA, 'slsa-verifier');
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = path.join(d, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(intoto|sigstore|jsonl|json|slsa)/.test(f) && st.size < 5_000_000) files.push(p);
    }
  };
  walk(root);

  const statements: { file: string; stmt: { predicateType?: string } }[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8').trim();
    let docs: unknown[];
    try {
      docs = [JSON.parse(text)];
    } catch {
      try {
        docs = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as unknown);
      } catch {
        continue;
      }
    }
    for (const d of docs as {
      dsseEnvelope?: { payload: string };
      payloadType?: string;
      payload?: string;
    }[]) {
      const env = d?.dsseEnvelope ?? (d?.payloadType ? (d as { payload: string }) : undefined);
      if (!env) continue;
      statements.push({
        file: path.relative(root, f),
        stmt: JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')),
      });
    }
  }

  it('every SLSA provenance (v0.2, v1) and VSA statement matches the schemas', () => {
    const slsa = statements.filter((s) => /^https:\/\/slsa\.dev\//.test(s.stmt.predicateType ?? ''));
    expect(slsa.length).toBeGreaterThan(200);
    const v1 = slsa.filter((s) => s.stmt.predicateType === 'https://slsa.dev/provenance/v1');
    const v02 = slsa.filter((s) => s.stmt.predicateType === 'https://slsa.dev/provenance/v0.2');
    expect(v1.length).toBeGreaterThan(50);
    expect(v02.length).toBeGreaterThan(100);
    const failures = slsa
      .map((s) => ({ file: s.file, problem: checkStatement(s.stmt, { allowV01: true }) }))
      .filter((r) => r.problem !== undefined);
    expect(failures).toEqual([]);
  });

  it('the fixture without a predicateType is refused', () => {
    const bad = statements.filter((s) => !s.stmt.predicateType);
    expect(bad.length).toBeGreaterThan(0);
    for (const s of bad)
      expect(checkStatement(s.stmt, { allowV01: true })?.instancePath).toBe('/predicateType');
  });

  it('Statement v0.1 is only accepted when reading', () => {
    const old = statements.find(
      (s) => (s.stmt as { _type?: string })._type === 'https://in-toto.io/Statement/v0.1',
    )!;
    expect(old).toBeDefined();
    expect(checkStatement(old.stmt)?.instancePath).toBe('/_type');
    expect(checkStatement(old.stmt, { allowV01: true })).toBeUndefined();
  });
});

describe('Verification Summary v1 schema', () => {
  const vsa = {
    verifier: { id: 'https://vouch.dev/promoter' },
    timeVerified: '2026-12-03T10:00:00Z',
    resourceUri: 'oci://registry.example.com/prod/app',
    policy: { uri: 'file:///policy.yaml', digest: { sha256: 'a'.repeat(64) } },
    inputAttestations: [
      {
        uri: 'oci://registry.example.com/staging/app@sha256:' + 'b'.repeat(64),
        digest: { sha256: 'c'.repeat(64) },
      },
    ],
    verificationResult: 'PASSED',
    verifiedLevels: ['SLSA_BUILD_LEVEL_3'],
    slsaVersion: '1.0',
  };
  it('accepts a complete summary', () => expect(checkSchema('verificationSummaryV1', vsa)).toBeUndefined());
  it.each([
    ['verificationResult', { verificationResult: 'OK' }, '/verificationResult'],
    ['policy without uri', { policy: { digest: { sha256: 'a'.repeat(64) } } }, '/policy'],
    ['bad slsaVersion', { slsaVersion: 'v1' }, '/slsaVersion'],
  ])('refuses %s', (_n, patch, where) => {
    expect(checkSchema('verificationSummaryV1', { ...vsa, ...patch })?.instancePath).toBe(where);
  });
});
