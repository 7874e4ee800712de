/**
 * Importing vulnerability scan reports (Trivy JSON, Grype JSON, SARIF 2.1) into the in-toto
 * Vulns v0.2 predicate (https://in-toto.io/attestation/vulns/v0.2). Reports are untrusted
 * input: each format is checked for the members vouch relies on, and a file that is not the
 * declared format is bad input (exit 2) that says which member is missing.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { badInput, toVouchError } from '../errors.js';
import { countVulns, type ResourceDescriptor } from '../attestation/index.js';

export type ScanFormat = 'trivy' | 'grype' | 'sarif';
export const SCAN_FORMATS: readonly ScanFormat[] = ['trivy', 'grype', 'sarif'];

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'unknown';
export type SeverityCounts = Record<Severity, number>;

export interface VulnSeverity {
  method: string;
  score: string;
}

export interface VulnResult {
  id: string;
  severity: VulnSeverity[];
  annotations?: Record<string, unknown>[];
}

export interface VulnsPredicate {
  scanner: {
    uri: string;
    version?: string;
    db?: { uri?: string; version?: string; lastUpdate: string };
    result: VulnResult[];
  };
  metadata: { scanStartedOn: string; scanFinishedOn: string };
}

export interface ImportedScan {
  format: ScanFormat;
  predicate: VulnsPredicate;
  counts: SeverityCounts;
  /** The report file as a byproduct of the build (name, sha256, media type, severity counts). */
  report: ResourceDescriptor & { digest: { sha256: string } };
}

/** Reports larger than this are refused rather than parsed into memory. */
export const MAX_SCAN_BYTES = 256 * 1024 * 1024;

const FORMAT_LABEL: Record<ScanFormat, string> = {
  trivy: 'Trivy JSON',
  grype: 'Grype JSON',
  sarif: 'SARIF 2.1',
};

type Json = Record<string, unknown>;

class FormatProblem extends Error {}

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function need(cond: unknown, problem: string): asserts cond {
  if (!cond) throw new FormatProblem(problem);
}

function iso(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

/** Counts findings per severity (one per result entry, i.e. per vulnerability × package). */
export function summarizeVulns(
  predicate: { scanner?: { result?: unknown } } | VulnsPredicate,
): SeverityCounts & { total: number } {
  return countVulns(predicate);
}

function trivy(doc: unknown, fallbackTime: string): VulnsPredicate {
  need(isObj(doc), 'the top level is not an object');
  // Trivy omits Results when nothing was scanned, but SchemaVersion is always present.
  need(
    Array.isArray(doc.Results) || (doc.Results === undefined && typeof doc.SchemaVersion === 'number'),
    'missing Results[]',
  );
  const result: VulnResult[] = [];
  const results = (doc.Results ?? []) as unknown[];
  results.forEach((t, i) => {
    need(isObj(t), `Results[${i}] is not an object`);
    if (t.Vulnerabilities === undefined || t.Vulnerabilities === null) return;
    need(Array.isArray(t.Vulnerabilities), `Results[${i}].Vulnerabilities is not an array`);
    t.Vulnerabilities.forEach((v: unknown, j: number) => {
      const where = `Results[${i}].Vulnerabilities[${j}]`;
      need(isObj(v) && str(v.VulnerabilityID), `${where} has no VulnerabilityID`);
      const severity: VulnSeverity[] = [{ method: 'trivy', score: str(v.Severity) ?? 'UNKNOWN' }];
      if (isObj(v.CVSS)) {
        for (const [source, c] of Object.entries(v.CVSS)) {
          if (isObj(c) && typeof c.V3Score === 'number')
            severity.push({ method: `cvss_v3_${source}`, score: String(c.V3Score) });
        }
      }
      result.push({
        id: v.VulnerabilityID as string,
        severity,
        annotations: [
          compact({
            package: str(v.PkgName),
            installedVersion: str(v.InstalledVersion),
            fixedVersion: str(v.FixedVersion),
            target: str(t.Target),
          }),
        ],
      });
    });
  });
  const trivyVersion = isObj(doc.Trivy) ? str(doc.Trivy.Version) : undefined;
  const created = iso(doc.CreatedAt) ?? fallbackTime;
  return {
    scanner: {
      uri: `pkg:github/aquasecurity/trivy${trivyVersion ? `@${trivyVersion}` : ''}`,
      ...(trivyVersion ? { version: trivyVersion } : {}),
      result,
    },
    metadata: { scanStartedOn: created, scanFinishedOn: created },
  };
}

function grype(doc: unknown, fallbackTime: string): VulnsPredicate {
  need(isObj(doc), 'the top level is not an object');
  need(Array.isArray(doc.matches), 'missing matches[]');
  const result: VulnResult[] = doc.matches.map((m: unknown, i: number) => {
    need(isObj(m) && isObj(m.vulnerability), `matches[${i}] has no vulnerability`);
    const v = m.vulnerability;
    need(str(v.id), `matches[${i}].vulnerability has no id`);
    const severity: VulnSeverity[] = [{ method: 'grype', score: str(v.severity) ?? 'Unknown' }];
    if (Array.isArray(v.cvss)) {
      for (const c of v.cvss) {
        if (isObj(c) && isObj(c.metrics) && typeof c.metrics.baseScore === 'number') {
          severity.push({
            method: `cvss_v${str(c.version) ?? '3'}_${str(c.source) ?? 'unknown'}`,
            score: String(c.metrics.baseScore),
          });
        }
      }
    }
    const a = isObj(m.artifact) ? m.artifact : {};
    return {
      id: v.id as string,
      severity,
      annotations: [
        compact({
          package: str(a.name),
          installedVersion: str(a.version),
          purl: str(a.purl),
          namespace: str(v.namespace),
        }),
      ],
    };
  });
  const d = isObj(doc.descriptor) ? doc.descriptor : {};
  const version = str(d.version);
  const db = isObj(d.db) ? d.db : undefined;
  // grype < 0.88 reports db.built; the v6 database reports db.status.built.
  const dbStatus = db && isObj(db.status) ? db.status : db;
  const built = dbStatus ? iso(dbStatus.built) : undefined;
  const schema = dbStatus?.schemaVersion;
  const when = iso(d.timestamp) ?? fallbackTime;
  return {
    scanner: {
      uri: `pkg:github/anchore/grype${version ? `@${version}` : ''}`,
      ...(version ? { version } : {}),
      ...(built
        ? {
            db: compact({
              uri: 'pkg:github/anchore/grype-db',
              version: typeof schema === 'string' || typeof schema === 'number' ? String(schema) : undefined,
              lastUpdate: built,
            }) as { lastUpdate: string },
          }
        : {}),
      result,
    },
    metadata: { scanStartedOn: when, scanFinishedOn: when },
  };
}

function sarif(doc: unknown, fallbackTime: string): VulnsPredicate {
  need(isObj(doc), 'the top level is not an object');
  need(doc.version === '2.1.0', `version is ${JSON.stringify(doc.version ?? null)}, not "2.1.0"`);
  need(Array.isArray(doc.runs), 'missing runs[]');
  const result: VulnResult[] = [];
  let tool: Json | undefined;
  let started: string | undefined;
  let finished: string | undefined;
  doc.runs.forEach((run: unknown, i: number) => {
    need(isObj(run) && isObj(run.tool) && isObj(run.tool.driver), `runs[${i}] has no tool.driver`);
    const driver = run.tool.driver;
    tool ??= driver;
    const rules = new Map<string, Json>();
    if (Array.isArray(driver.rules))
      for (const r of driver.rules) if (isObj(r) && str(r.id)) rules.set(r.id as string, r);
    if (Array.isArray(run.invocations)) {
      for (const inv of run.invocations) {
        if (!isObj(inv)) continue;
        started ??= iso(inv.startTimeUtc);
        finished = iso(inv.endTimeUtc) ?? finished;
      }
    }
    if (run.results === undefined) return;
    need(Array.isArray(run.results), `runs[${i}].results is not an array`);
    run.results.forEach((r: unknown, j: number) => {
      need(isObj(r), `runs[${i}].results[${j}] is not an object`);
      const ruleId = str(r.ruleId) ?? (isObj(r.rule) ? str(r.rule.id) : undefined);
      need(ruleId, `runs[${i}].results[${j}] has no ruleId`);
      result.push({
        id: ruleId,
        severity: sarifSeverity(r, rules.get(ruleId)),
        annotations: [sarifAnnotation(r)],
      });
    });
  });
  const name = tool ? str(tool.name) : undefined;
  const version = tool ? (str(tool.semanticVersion) ?? str(tool.version)) : undefined;
  const uri =
    (tool && str(tool.informationUri)) ??
    `pkg:generic/${encodeURIComponent((name ?? 'sarif').toLowerCase())}`;
  return {
    scanner: { uri, ...(version ? { version } : {}), result },
    metadata: {
      scanStartedOn: started ?? finished ?? fallbackTime,
      scanFinishedOn: finished ?? started ?? fallbackTime,
    },
  };
}

/**
 * SARIF has no severity of its own (`level` is how loud a result is, not how bad the
 * vulnerability is). Scanners put the CVSS score in `security-severity` (GitHub code scanning
 * convention) and often the qualitative severity among the tags.
 */
function sarifSeverity(r: Json, rule: Json | undefined): VulnSeverity[] {
  const out: VulnSeverity[] = [];
  const props = [
    isObj(r.properties) ? r.properties : undefined,
    rule && isObj(rule.properties) ? rule.properties : undefined,
  ];
  for (const p of props) {
    if (!p) continue;
    const tags = Array.isArray(p.tags) ? p.tags.filter((t): t is string => typeof t === 'string') : [];
    const word = tags.find((t) => ['critical', 'high', 'medium', 'low'].includes(t.toLowerCase()));
    if (word && !out.some((s) => s.method === 'sarif_tag')) out.push({ method: 'sarif_tag', score: word });
    const ss = p['security-severity'];
    const n =
      typeof ss === 'number'
        ? ss
        : typeof ss === 'string' && /^\d+(\.\d+)?$/.test(ss)
          ? Number(ss)
          : undefined;
    if (n !== undefined && !out.some((s) => s.method === 'security_severity'))
      out.push({ method: 'security_severity', score: String(n) });
  }
  if (out.length === 0) out.push({ method: 'sarif', score: 'unknown' });
  return out;
}

function sarifAnnotation(r: Json): Record<string, unknown> {
  const loc = Array.isArray(r.locations) && isObj(r.locations[0]) ? r.locations[0] : undefined;
  const phys = loc && isObj(loc.physicalLocation) ? loc.physicalLocation : undefined;
  const artifact = phys && isObj(phys.artifactLocation) ? str(phys.artifactLocation.uri) : undefined;
  const message = isObj(r.message) ? str(r.message.text) : undefined;
  return compact({ level: str(r.level), location: artifact, message: message?.slice(0, 512) });
}

function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

const PARSERS: Record<ScanFormat, (doc: unknown, fallbackTime: string) => VulnsPredicate> = {
  trivy,
  grype,
  sarif,
};

/** Reads a scan report of the declared format and converts it to the Vulns v0.2 predicate. */
export async function importScan(file: string, format: ScanFormat): Promise<ImportedScan> {
  if (!SCAN_FORMATS.includes(format)) {
    throw badInput(
      'SCAN_FORMAT',
      `unknown scan format ${JSON.stringify(format)}`,
      `use one of: ${SCAN_FORMATS.join(', ')}`,
    );
  }
  const name = path.basename(file);
  const label = FORMAT_LABEL[format];
  let bytes: Buffer;
  let mtime: Date;
  try {
    const st = await stat(file);
    if (st.size > MAX_SCAN_BYTES) {
      throw badInput(
        'SCAN_TOO_LARGE',
        `${name} is ${st.size} bytes, more than the ${MAX_SCAN_BYTES}-byte limit for scan reports`,
      );
    }
    mtime = st.mtime;
    bytes = await readFile(file);
  } catch (e) {
    throw toVouchError(e);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw badInput(
      'SCAN_NOT_FORMAT',
      `${name} is not ${label}: not valid JSON (${(e as Error).message})`,
      scanHint(format),
    );
  }
  let predicate: VulnsPredicate;
  try {
    predicate = PARSERS[format](doc, mtime.toISOString());
  } catch (e) {
    if (e instanceof FormatProblem)
      throw badInput('SCAN_NOT_FORMAT', `${name} is not ${label}: ${e.message}`, scanHint(format));
    throw e;
  }
  const { total: _total, ...counts } = summarizeVulns(predicate);
  return {
    format,
    predicate,
    counts,
    report: {
      name,
      digest: { sha256: createHash('sha256').update(bytes).digest('hex') },
      mediaType: format === 'sarif' ? 'application/sarif+json' : 'application/json',
      annotations: { format, ...counts },
    },
  };
}

function scanHint(format: ScanFormat): string {
  switch (format) {
    case 'trivy':
      return 'produce it with `trivy image --format json` or pass the matching --scan-format';
    case 'grype':
      return 'produce it with `grype -o json` or pass the matching --scan-format';
    case 'sarif':
      return 'pass a SARIF 2.1.0 log or the matching --scan-format';
  }
}
