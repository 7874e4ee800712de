/**
 * SLSA Provenance v1 generation (https://slsa.dev/spec/v1.1/provenance): the build
 * definition from CI detection and the source checkout, run details from the platform, and
 * the vulnerability scan as a byproduct with its own Vulns v0.2 statement.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { badInput } from '../errors.js';
import {
  PredicateType,
  buildStatement,
  validateStatement,
  type ResourceDescriptor,
  type Statement,
  type Subject,
} from '../attestation/index.js';
import { detectCi, type CiName } from './ci.js';
import { gitSource } from './git.js';
import { importScan, type ImportedScan, type ScanFormat, type VulnsPredicate } from './scan.js';
import { isGitCommit, stripCredentials } from './url.js';

export interface ProvenancePredicate {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies?: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: ResourceDescriptor[];
  };
}

export interface GenerateOptions {
  subjects: Subject[];
  /** Environment to detect CI from (default process.env); only allowlisted names are read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Git checkout to take the source from (default: the current directory). */
  sourceDir?: string;
  builderId?: string;
  buildType?: string;
  /** Extra resolved dependencies: descriptors, or `URI@sha256:HEX` strings. */
  materials?: (ResourceDescriptor | string)[];
  scan?: { path: string; format: ScanFormat };
  startedOn?: Date | string;
  /** Clock for finishedOn (tests pin it). */
  now?: Date | (() => Date);
}

export interface SourceSummary {
  repository?: string;
  commit?: string;
  ref?: string;
  tags?: string[];
  dirty?: boolean;
  from: 'ci' | 'git' | 'ci+git' | 'none';
}

export interface GeneratedProvenance {
  statement: Statement<ProvenancePredicate>;
  vulns?: Statement<VulnsPredicate>;
  scan?: ImportedScan;
  ci: CiName;
  source: SourceSummary;
  warnings: string[];
}

/** Parses `--material URI@sha256:HEX` (also sha512) into a resource descriptor. */
export function parseMaterial(spec: string): ResourceDescriptor {
  const m = /^(.+)@(sha256|sha512):([0-9a-fA-F]+)$/.exec(spec.trim());
  const want = m?.[2] === 'sha512' ? 128 : 64;
  if (!m || m[3]!.length !== want) {
    throw badInput(
      'MATERIAL',
      `bad material ${JSON.stringify(stripCredentials(spec))}`,
      'write it as URI@sha256:<64 hex> (or @sha512:<128 hex>)',
    );
  }
  return { uri: stripCredentials(m[1]!), digest: { [m[2]!]: m[3]!.toLowerCase() } };
}

function requireUri(value: string, flag: string): string {
  try {
    // A TypeURI: any absolute URI (https:, urn:, pkg: ...).
    const u = new URL(value);
    if (!u.protocol) throw new Error('no scheme');
  } catch {
    throw badInput(
      'BAD_URI',
      `${flag} ${JSON.stringify(value)} is not an absolute URI`,
      `e.g. ${flag} https://example.com/builders/ci@v1`,
    );
  }
  return stripCredentials(value);
}

function isoTime(v: Date | string, what: string): string {
  const t = v instanceof Date ? v.getTime() : Date.parse(v);
  if (Number.isNaN(t)) throw badInput('BAD_TIME', `${what} ${JSON.stringify(String(v))} is not a timestamp`);
  return new Date(t).toISOString();
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

let cachedVersion: string | undefined;
/** vouch's own version, from its package.json (src/ and dist/src/ sit at different depths). */
export function vouchVersion(): string {
  if (cachedVersion) return cachedVersion;
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vouch' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // try the next depth
    }
  }
  return (cachedVersion = '0.0.0');
}

/**
 * Generates the provenance statement (and, with a scan, the vulns statement) for the given
 * subjects. Both are validated against their schemas before they are returned; a schema
 * failure is a bug and throws an exit-1 VouchError naming the schema path.
 */
export async function generateProvenance(opts: GenerateOptions): Promise<GeneratedProvenance> {
  if (opts.subjects.length === 0)
    throw badInput('NO_SUBJECT', 'no subject given', 'name at least one file or image');
  const env = opts.env ?? process.env;
  const ci = detectCi(env);
  const warnings = [...ci.warnings];
  const dir = opts.sourceDir ?? process.cwd();
  if (opts.sourceDir !== undefined && !isDirectory(opts.sourceDir)) {
    throw badInput(
      'SOURCE_DIR',
      `--source-dir ${opts.sourceDir} is not a directory`,
      'name the git checkout the build used',
    );
  }
  const local = await gitSource(dir);

  const commit = ci.source.commit ?? local?.commit;
  const sameCheckout = local !== undefined && local.commit === commit;
  if (local && ci.source.commit && !sameCheckout) {
    warnings.push(
      `the checkout in ${dir} is at ${local.commit.slice(0, 12)}, not the CI commit ${ci.source.commit.slice(0, 12)}: using the CI commit`,
    );
  }
  const repository = ci.source.repository ?? (sameCheckout ? local?.repository : undefined);
  const ref = ci.source.ref ?? (sameCheckout ? (local?.ref ?? local?.tags[0]) : undefined);
  const tags = sameCheckout ? local!.tags : [];
  const dirty = sameCheckout && local!.dirty;
  if (!commit)
    warnings.push(
      `${dir} is not a git checkout and no CI source was found: the provenance records no source`,
    );
  else if (!repository) warnings.push('the source has no remote URL: the provenance records only the commit');
  if (dirty)
    warnings.push(
      'working tree is dirty: the build may not match the recorded commit (recorded as annotation dirty=true)',
    );

  const resolvedDependencies: ResourceDescriptor[] = [];
  if (commit && isGitCommit(commit)) {
    const annotations: Record<string, unknown> = {};
    if (dirty) annotations.dirty = true;
    if (tags.length > 0) annotations.tags = tags;
    resolvedDependencies.push({
      ...(repository
        ? { uri: `${repository.startsWith('git+') ? '' : 'git+'}${repository}${ref ? `@${ref}` : ''}` }
        : {}),
      digest: { gitCommit: commit },
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    });
  }
  for (const m of opts.materials ?? [])
    resolvedDependencies.push(typeof m === 'string' ? parseMaterial(m) : m);

  let builderId = ci.builderId;
  if (opts.builderId) builderId = requireUri(opts.builderId, '--builder-id');
  else if (ci.name === 'tekton') warnings.push(`Tekton: no --builder-id given; recording ${builderId}`);
  const buildType = opts.buildType ? requireUri(opts.buildType, '--build-type') : ci.buildType;

  const externalParameters = { ...ci.externalParameters };
  if (ci.name === 'local' && repository) externalParameters.source = { repository, ...(ref ? { ref } : {}) };

  let scan: ImportedScan | undefined;
  if (opts.scan) scan = await importScan(opts.scan.path, opts.scan.format);

  const nowDate = typeof opts.now === 'function' ? opts.now() : (opts.now ?? new Date());
  const startedOn = opts.startedOn !== undefined ? isoTime(opts.startedOn, 'startedOn') : ci.startedOn;
  const finishedOn = isoTime(nowDate, 'now');

  const predicate: ProvenancePredicate = {
    buildDefinition: {
      buildType,
      externalParameters,
      ...(Object.keys(ci.internalParameters).length > 0 ? { internalParameters: ci.internalParameters } : {}),
      ...(resolvedDependencies.length > 0 ? { resolvedDependencies } : {}),
    },
    runDetails: {
      builder: { id: builderId, version: { vouch: vouchVersion(), ...ci.builderVersion } },
      metadata: {
        invocationId: ci.invocationId ?? `urn:uuid:${randomUUID()}`,
        ...(startedOn ? { startedOn } : {}),
        finishedOn,
      },
      ...(scan ? { byproducts: [scan.report] } : {}),
    },
  };

  const statement = validateStatement<ProvenancePredicate>(
    buildStatement(opts.subjects, PredicateType.slsaProvenanceV1, predicate),
    {
      what: 'generated provenance',
    },
  );
  const vulns = scan
    ? validateStatement<VulnsPredicate>(
        buildStatement(opts.subjects, PredicateType.vulnsV02, scan.predicate),
        {
          what: 'generated vulns attestation',
        },
      )
    : undefined;

  const from = ci.source.commit ? (sameCheckout ? 'ci+git' : 'ci') : commit ? 'git' : 'none';
  return {
    statement,
    ...(vulns ? { vulns, scan } : {}),
    ci: ci.name,
    source: { repository, commit, ref, ...(tags.length ? { tags } : {}), dirty, from },
    warnings,
  };
}
