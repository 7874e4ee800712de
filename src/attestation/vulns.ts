/**
 * Severity of findings in a Vulns v0.2 predicate (`https://in-toto.io/attestation/vulns/v0.2`).
 * One rule for both sides: the counts vouch writes into provenance byproducts and the counts
 * the verifier checks against policy thresholds.
 */
export type VulnSeverityLevel = 'critical' | 'high' | 'medium' | 'low' | 'unknown';
export type VulnCounts = Record<VulnSeverityLevel, number>;

const WORDS: Record<string, Exclude<VulnSeverityLevel, 'unknown'>> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  medium: 'medium',
  moderate: 'medium',
  low: 'low',
  negligible: 'low',
};

export const SEVERITY_RANK: Record<VulnSeverityLevel, number> = {
  unknown: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

/** CVSS v3 qualitative ranges (FIRST CVSS v3.1 spec §5); 0.0 ("none") says nothing: unknown. */
function cvssBucket(score: number): VulnSeverityLevel {
  if (!Number.isFinite(score) || score <= 0) return 'unknown';
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}

function scoreSeverity(score: unknown): VulnSeverityLevel {
  if (typeof score === 'number') return cvssBucket(score);
  if (typeof score !== 'string') return 'unknown';
  const w = score.trim().toLowerCase();
  if (WORDS[w]) return WORDS[w];
  return /^\d+(\.\d+)?$/.test(w) ? cvssBucket(Number(w)) : 'unknown';
}

/**
 * The severity of one finding: the highest that any of its scoring methods gives (qualitative
 * words or CVSS numbers), so a scanner's "medium" next to an NVD 9.8 counts as critical —
 * thresholds fail closed.
 */
export function severityOf(finding: { severity?: unknown }): VulnSeverityLevel {
  const s = finding.severity;
  const list: unknown[] = Array.isArray(s) ? s : s && typeof s === 'object' ? [s] : [];
  let best: VulnSeverityLevel = 'unknown';
  for (const e of list) {
    const sev = e && typeof e === 'object' ? scoreSeverity((e as { score?: unknown }).score) : 'unknown';
    if (SEVERITY_RANK[sev] > SEVERITY_RANK[best]) best = sev;
  }
  return best;
}

/** Counts findings per severity (one per result entry: vulnerability × package), plus the total. */
export function countVulns(predicate: unknown): VulnCounts & { total: number } {
  const counts = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0, total: 0 };
  const result = (predicate as { scanner?: { result?: unknown } } | undefined)?.scanner?.result;
  if (!Array.isArray(result)) return counts;
  for (const r of result) {
    counts[severityOf(r && typeof r === 'object' ? (r as { severity?: unknown }) : {})]++;
    counts.total++;
  }
  return counts;
}
