import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSchema, checkStatement } from '../../src/attestation/index.js';
import {
  generateProvenance,
  importScan,
  summarizeVulns,
  type ScanFormat,
} from '../../src/provenance/index.js';
import { ROOT } from '../support/cli.js';

const SCANS = path.join(ROOT, 'test/fixtures/scans');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vouch-scan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const p = path.join(tmp, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

describe('importScan: realistic reports', () => {
  it('Trivy JSON', async () => {
    const s = await importScan(path.join(SCANS, 'trivy-image.json'), 'trivy');
    expect(s.counts).toEqual({ critical: 1, high: 2, medium: 3, low: 1, unknown: 1 });
    expect(checkSchema('vulnsV02', s.predicate)).toBeUndefined();
    expect(s.predicate.scanner.uri).toBe('pkg:github/aquasecurity/trivy');
    expect(s.predicate.metadata).toEqual({
      scanStartedOn: '2024-05-02T08:11:12.345Z',
      scanFinishedOn: '2024-05-02T08:11:12.345Z',
    });
    const crit = s.predicate.scanner.result.find((r) => r.id === 'CVE-2023-45853')!;
    expect(crit.severity).toEqual([
      { method: 'trivy', score: 'CRITICAL' },
      { method: 'cvss_v3_nvd', score: '9.8' },
    ]);
    expect(crit.annotations).toEqual([
      { package: 'minizip', installedVersion: '1.2.13', target: 'app/package-lock.json' },
    ]);
    const bytes = readFileSync(path.join(SCANS, 'trivy-image.json'));
    expect(s.report).toEqual({
      name: 'trivy-image.json',
      digest: { sha256: createHash('sha256').update(bytes).digest('hex') },
      mediaType: 'application/json',
      annotations: { format: 'trivy', critical: 1, high: 2, medium: 3, low: 1, unknown: 1 },
    });
  });
  it('Grype JSON (negligible counts as low; DB build time recorded)', async () => {
    const s = await importScan(path.join(SCANS, 'grype-image.json'), 'grype');
    expect(s.counts).toEqual({ critical: 1, high: 1, medium: 2, low: 2, unknown: 1 });
    expect(checkSchema('vulnsV02', s.predicate)).toBeUndefined();
    expect(s.predicate.scanner).toMatchObject({
      uri: 'pkg:github/anchore/grype@0.74.7',
      version: '0.74.7',
      db: { uri: 'pkg:github/anchore/grype-db', version: '5', lastUpdate: '2024-05-01T01:31:19.000Z' },
    });
    expect(s.predicate.metadata.scanFinishedOn).toBe('2024-05-02T08:15:03.123Z');
  });
  it('SARIF 2.1 (severity from security-severity and tags, not from level)', async () => {
    const s = await importScan(path.join(SCANS, 'trivy-image.sarif'), 'sarif');
    expect(s.counts).toEqual({ critical: 1, high: 2, medium: 2, low: 1, unknown: 1 });
    expect(checkSchema('vulnsV02', s.predicate)).toBeUndefined();
    expect(s.predicate.scanner).toMatchObject({
      uri: 'https://github.com/aquasecurity/trivy',
      version: '0.50.1',
    });
    expect(s.predicate.metadata).toEqual({
      scanStartedOn: '2024-05-02T08:11:00.000Z',
      scanFinishedOn: '2024-05-02T08:11:12.000Z',
    });
    expect(s.report.mediaType).toBe('application/sarif+json');
  });
});

describe('importScan: a file that is not the declared format is bad input (exit 2)', () => {
  const cases: [string, ScanFormat, unknown, RegExp][] = [
    [
      'grype report as trivy',
      'trivy',
      'grype-image.json',
      /grype-image\.json is not Trivy JSON: missing Results\[\]/,
    ],
    [
      'trivy report as grype',
      'grype',
      'trivy-image.json',
      /trivy-image\.json is not Grype JSON: missing matches\[\]/,
    ],
    [
      'trivy report as sarif',
      'sarif',
      'trivy-image.json',
      /is not SARIF 2\.1: version is null, not "2\.1\.0"/,
    ],
    [
      'a finding without id',
      'trivy',
      'trivy-missing-id.json',
      /Results\[0\]\.Vulnerabilities\[0\] has no VulnerabilityID/,
    ],
    ['not JSON', 'trivy', { raw: 'Total: 3 (HIGH: 1)' }, /is not Trivy JSON: not valid JSON/],
    ['SARIF 2.0', 'sarif', { json: { version: '2.0.0', runs: [] } }, /version is "2\.0\.0"/],
    ['a JSON array', 'grype', { json: [] }, /the top level is not an object/],
  ];
  for (const [name, format, file, msg] of cases) {
    it(name, async () => {
      const p =
        typeof file === 'string'
          ? path.join(SCANS, file)
          : 'raw' in (file as object)
            ? write('scan.txt', (file as { raw: string }).raw)
            : write('scan.json', (file as { json: unknown }).json);
      await expect(importScan(p, format)).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringMatching(msg),
      });
    });
  }
  it('a missing file is bad input too', async () => {
    await expect(importScan(path.join(tmp, 'nope.json'), 'trivy')).rejects.toMatchObject({ exitCode: 2 });
  });
  it('an empty Trivy scan (no Results) is valid with zero findings', async () => {
    const s = await importScan(
      write('empty.json', { SchemaVersion: 2, ArtifactName: 'x', CreatedAt: '2024-01-01T00:00:00Z' }),
      'trivy',
    );
    expect(s.counts).toEqual({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });
  });
});

describe('summarizeVulns', () => {
  it('counts any Vulns v0.2 predicate by the highest severity any method gives (CVSS numbers bucketed)', () => {
    const counts = summarizeVulns({
      scanner: {
        result: [
          {
            id: 'a',
            severity: [
              { method: 'nvd', score: 'medium' },
              { method: 'cvss_score', score: '9.5' },
            ],
          },
          { id: 'b', severity: [{ method: 'cvss_score', score: '9.0' }] },
          { id: 'c', severity: [{ method: 'cvss_score', score: '7.0' }] },
          { id: 'd', severity: [{ method: 'osv', score: 'Moderate' }] },
          { id: 'e', severity: [{ method: 'cvss_score', score: '0.0' }] },
          { id: 'f', severity: [] },
          { id: 'g' },
          { id: 'h', severity: [{ method: 'grype', score: 'Negligible' }] },
          { id: 'i', severity: [{ method: 'x', score: 3.1 }] },
        ],
      },
    });
    expect(counts).toEqual({ critical: 2, high: 1, medium: 1, low: 2, unknown: 3, total: 9 });
    expect(summarizeVulns({})).toEqual({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0, total: 0 });
  });
});

describe('scan in provenance', () => {
  it('the report is a byproduct with its counts, and the vulns statement binds the same subjects', async () => {
    const subject = { name: 'fn.zip', digest: { sha256: 'e'.repeat(64) } };
    const r = await generateProvenance({
      subjects: [subject],
      env: {},
      sourceDir: tmp,
      scan: { path: path.join(SCANS, 'grype-image.json'), format: 'grype' },
    });
    expect(r.statement.predicate.runDetails.byproducts).toEqual([
      expect.objectContaining({
        name: 'grype-image.json',
        annotations: { format: 'grype', critical: 1, high: 1, medium: 2, low: 2, unknown: 1 },
      }),
    ]);
    expect(r.vulns?.predicateType).toBe('https://in-toto.io/attestation/vulns/v0.2');
    expect(r.vulns?.subject).toEqual([subject]);
    expect(checkStatement(r.vulns)).toBeUndefined();
  });
});
