import { describe, expect, it } from 'vitest';
import type { Reference } from '../../src/oci/types.js';
import { decisionSchemaProblems } from '../../src/policy/index.js';
import type { LoadedPolicy, Policy } from '../../src/policy/types.js';
import { allowlistChecks, decision, type PromotionResult } from '../../src/promote/index.js';

const loaded = (promotion?: Policy['promotion']): LoadedPolicy => ({
  policy: { version: 1, signers: [{ key: { path: 'k.pub' } }], ...(promotion ? { promotion } : {}) },
  uri: 'file:///w/policy.yaml',
  sha256: 'b'.repeat(64),
  baseDir: '/w',
});
const reg = (registry: string, repository: string): Reference => ({
  kind: 'registry',
  registry,
  repository,
  tag: 'v1',
});

describe('promotion allowlist checks', () => {
  it('refuses without a promotion section (fail closed), naming the fix', () => {
    const checks = allowlistChecks(loaded(), reg('a.io', 'staging/app'), reg('b.io', 'prod/app'));
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ ok: false, field: 'promotion' });
    expect(checks[0]?.detail).toMatch(/no promotion section.*--promote-from/);
  });

  it('refuses an empty allowlist', () => {
    const checks = allowlistChecks(
      loaded({ sources: [], destinations: ['b.io/**'] }),
      reg('a.io', 'x/y'),
      reg('b.io', 'x/y'),
    );
    expect(checks.every((c) => !c.ok)).toBe(true);
  });

  it('checks the source against sources and the destination against destinations, never the other way', () => {
    const rules = { sources: ['a.io/staging/*'], destinations: ['b.io/prod/*'] };
    const ok = allowlistChecks(loaded(rules), reg('a.io', 'staging/app'), reg('b.io', 'prod/app'));
    expect(ok.map((c) => c.ok)).toEqual([true, true]);
    expect(ok[0]?.detail).toBe('a.io/staging/app matches a.io/staging/*');
    const swapped = allowlistChecks(loaded(rules), reg('b.io', 'prod/app'), reg('a.io', 'staging/app'));
    expect(swapped.map((c) => c.ok)).toEqual([false, false]);
    expect(swapped[0]).toMatchObject({
      field: 'promotion.sources',
      actual: 'b.io/prod/app',
      expected: ['a.io/staging/*'],
    });
    expect(swapped[1]?.detail).toBe(
      'destination a.io/staging/app is not in promotion.destinations (b.io/prod/*)',
    );
  });
});

describe('promotion decision records', () => {
  const result = (decisionValue: 'ALLOW' | 'DENY'): PromotionResult => ({
    decision: decisionValue,
    dryRun: false,
    reason:
      decisionValue === 'ALLOW'
        ? 'promoted'
        : 'destination b.io/evil/app is not in promotion.destinations (b.io/prod/*)',
    source: {
      reference: 'a.io/staging/app:v1',
      name: 'a.io/staging/app',
      digest: `sha256:${'a'.repeat(64)}`,
    },
    destination: {
      reference: 'b.io/evil/app:v1',
      name: 'b.io/evil/app',
      digest: `sha256:${'a'.repeat(64)}`,
      tag: 'v1',
    },
    policy: { uri: 'file:///w/policy.yaml', sha256: 'b'.repeat(64) },
    checks: [
      { name: 'source allowlisted', ok: true, field: 'promotion.sources', detail: 'ok' },
      { name: 'destination allowlisted', ok: false, field: 'promotion.destinations', detail: 'not allowed' },
    ],
    steps: [],
  });

  it('is valid against schemas/decision.schema.json and carries the failed allowlist check', () => {
    const rec = decision(result('DENY'), new Date('2026-12-03T10:00:00Z'), {});
    expect(decisionSchemaProblems(rec)).toEqual([]);
    expect(rec).toMatchObject({
      action: 'promote',
      result: 'DENY',
      subject: `sha256:${'a'.repeat(64)}`,
      resource: `a.io/staging/app@sha256:${'a'.repeat(64)}`,
      context: {
        destination: `b.io/evil/app:v1@sha256:${'a'.repeat(64)}`,
        failedChecks: [
          { name: 'destination allowlisted', detail: 'not allowed', field: 'promotion.destinations' },
        ],
      },
    });
  });

  it('records the evidence of an ALLOW', () => {
    const rec = decision(result('ALLOW'), new Date('2026-12-03T10:00:00Z'), {
      slsaLevel: 3,
      levelReason: '',
      predicateTypes: ['https://slsa.dev/provenance/v1'],
      inputAttestations: [
        { digest: `sha256:${'c'.repeat(64)}`, predicateType: 'https://slsa.dev/provenance/v1' },
      ],
    });
    expect(decisionSchemaProblems(rec)).toEqual([]);
    expect(rec.context.slsaLevel).toBe(3);
    expect(rec.timestamp).toBe('2026-12-03T10:00:00.000Z');
  });
});
