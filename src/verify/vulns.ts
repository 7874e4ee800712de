/**
 * Vulnerability thresholds over verified vulns attestations
 * (`https://in-toto.io/attestation/vulns/v0.2`). A stated threshold with no verified vulns
 * attestation fails: an unscanned artifact is not a clean one.
 */
import type { Severity, VulnerabilityThresholds } from '../policy/index.js';
import type { Check } from './types.js';

export const VULNS_V02 = 'https://in-toto.io/attestation/vulns/v0.2';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];
const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

export type VulnCounts = Record<Severity | 'unknown', number>;

/** The severity of one finding: the highest any of its scoring methods gives (words or CVSS). */
export function findingSeverity(severity: unknown): Severity | 'unknown' {
  const entries = Array.isArray(severity)
    ? severity
    : severity && typeof severity === 'object'
      ? [severity]
      : [];
  let best: Severity | 'unknown' = 'unknown';
  for (const e of entries as { score?: unknown }[]) {
    const s = scoreSeverity(e?.score);
    if (s !== 'unknown' && (best === 'unknown' || RANK[s] > RANK[best])) best = s;
  }
  return best;
}

function scoreSeverity(score: unknown): Severity | 'unknown' {
  if (typeof score === 'number') return cvss(score);
  if (typeof score !== 'string') return 'unknown';
  const w = score.trim().toLowerCase();
  if (w === 'critical') return 'critical';
  if (w === 'high' || w === 'important') return 'high';
  if (w === 'medium' || w === 'moderate') return 'medium';
  if (w === 'low' || w === 'negligible') return 'low';
  if (/^\d+(\.\d+)?$/.test(w)) return cvss(Number(w));
  return 'unknown';
}

function cvss(n: number): Severity | 'unknown' {
  if (!Number.isFinite(n) || n <= 0) return 'unknown';
  if (n >= 9) return 'critical';
  if (n >= 7) return 'high';
  if (n >= 4) return 'medium';
  return 'low';
}

export function countVulns(predicate: unknown): VulnCounts {
  const counts: VulnCounts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  const result = (predicate as { scanner?: { result?: unknown } } | undefined)?.scanner?.result;
  if (!Array.isArray(result)) return counts;
  for (const r of result as { severity?: unknown }[]) counts[findingSeverity(r?.severity)]++;
  return counts;
}

export function thresholdsStated(t: VulnerabilityThresholds | undefined): t is VulnerabilityThresholds {
  return (
    !!t && (t.maxSeverity !== undefined || (t.maxCounts !== undefined && Object.keys(t.maxCounts).length > 0))
  );
}

/**
 * Checks thresholds against the verified vulns predicates (the most recent scan is not
 * distinguishable from an older one in general, so every verified scan must pass).
 */
export function checkVulns(predicates: unknown[], t: VulnerabilityThresholds | undefined): Check[] {
  if (!thresholdsStated(t)) return [];
  if (predicates.length === 0) {
    return [
      {
        name: 'vulnerabilities',
        ok: false,
        field: 'vulnerabilities',
        detail: `no verified vulnerability scan attestation (${VULNS_V02}) to check the thresholds against`,
      },
    ];
  }
  const out: Check[] = [];
  predicates.forEach((p, i) => {
    const counts = countVulns(p);
    const which = predicates.length > 1 ? ` (scan ${i + 1})` : '';
    const summary = SEVERITIES.map((s) => `${counts[s]} ${s}`).join(', ');
    if (t.maxSeverity) {
      const above = SEVERITIES.filter((s) => RANK[s] > RANK[t.maxSeverity!] && counts[s] > 0);
      out.push(
        above.length === 0
          ? {
              name: 'max severity',
              ok: true,
              field: 'vulnerabilities.maxSeverity',
              detail: `no finding above ${t.maxSeverity}${which}`,
            }
          : {
              name: 'max severity',
              ok: false,
              field: 'vulnerabilities.maxSeverity',
              detail: `${above.map((s) => `${counts[s]} ${s}`).join(', ')} finding(s) above ${t.maxSeverity}${which}`,
              expected: t.maxSeverity,
              actual: summary,
            },
      );
    }
    for (const [sev, max] of Object.entries(t.maxCounts ?? {}) as [Severity, number][]) {
      out.push(
        counts[sev] <= max
          ? {
              name: `max ${sev} findings`,
              ok: true,
              field: `vulnerabilities.maxCounts.${sev}`,
              detail: `${counts[sev]} <= ${max}${which}`,
            }
          : {
              name: `max ${sev} findings`,
              ok: false,
              field: `vulnerabilities.maxCounts.${sev}`,
              detail: `${counts[sev]} ${sev} findings > allowed ${max}${which}`,
              expected: max,
              actual: counts[sev],
            },
      );
    }
  });
  return out;
}
