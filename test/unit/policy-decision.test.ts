import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendDecision, decisionRecord, decisionSchemaProblems } from '../../src/policy/index.js';

const verdict = {
  ok: false,
  subject: '127.0.0.1:5000/app@sha256:' + 'a'.repeat(64),
  digest: 'sha256:' + 'a'.repeat(64),
  slsaLevel: 1,
  levelReason: 'builder x is not trusted by the policy',
  predicateTypes: ['https://slsa.dev/provenance/v1'],
  checks: [
    { name: 'trusted signature', ok: true, detail: '1 verified' },
    { name: 'SLSA build level', ok: false, detail: 'level 1 < required 3', field: 'slsaLevel' },
  ],
  reason: 'level 1 < required 3',
};

describe('decision records', () => {
  it('builds a record that validates against schemas/decision.schema.json', () => {
    const r = decisionRecord(verdict, {
      policy: { uri: 'file:///p.yaml', sha256: 'b'.repeat(64) },
      now: new Date('2026-01-02T03:04:05Z'),
    });
    expect(decisionSchemaProblems(r)).toEqual([]);
    expect(r).toMatchObject({
      timestamp: '2026-01-02T03:04:05.000Z',
      subject: verdict.digest,
      resource: verdict.subject,
      action: 'verify',
      result: 'DENY',
      reason: 'level 1 < required 3',
    });
    expect(r.context.failedChecks).toEqual([
      { name: 'SLSA build level', detail: 'level 1 < required 3', field: 'slsaLevel' },
    ]);
    expect(decisionRecord({ ...verdict, ok: true }).result).toBe('ALLOW');
  });

  it('the schema refuses a record without a digest-pinned subject or with an unknown result', () => {
    const r = decisionRecord(verdict);
    expect(decisionSchemaProblems({ ...r, subject: 'latest' })).not.toEqual([]);
    expect(decisionSchemaProblems({ ...r, result: 'MAYBE' })).not.toEqual([]);
  });

  it('concurrent appends leave one whole JSON line per record', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'vouch-dec-'));
    const file = path.join(dir, 'decisions.jsonl');
    const big = 'x'.repeat(20_000);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        appendDecision(file, decisionRecord({ ...verdict, reason: `${i} ${big}` })),
      ),
    );
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(50);
    const reasons = lines.map((l) => (JSON.parse(l) as { reason: string }).reason.split(' ')[0]);
    expect(new Set(reasons).size).toBe(50);
  });

  it('an unwritable log is an I/O error (exit 3)', async () => {
    const err = await appendDecision('/nonexistent-dir/x.jsonl', decisionRecord(verdict)).catch(
      (e: unknown) => e,
    );
    expect((err as { exitCode: number }).exitCode).toBe(3);
  });
});
