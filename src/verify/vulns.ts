/**
 * Vulnerability thresholds over verified vulns attestations
 * (`https://in-toto.io/attestation/vulns/v0.2`). A stated threshold with no verified vulns
 * attestation fails: an unscanned artifact is not a clean one.
 */
import type { Severity, VulnerabilityThresholds } from '../policy/index.js';
import type { Check } from './types.js';
import { countVulns, type VulnCounts } from '../attestation/index.js';

export { countVulns, type VulnCounts };

export const VULNS_V02 = 'https://in-toto.io/attestation/vulns/v0.2';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];
const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1 };

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
