/**
 * Expectations on provenance, in slsa-verifier's vocabulary and semantics: source repository,
 * branch, tag, versioned tag and builder id. Facts are read from SLSA Provenance v1
 * (`runDetails.builder.id`, `buildDefinition.resolvedDependencies` / `externalParameters`) and
 * v0.2 (`builder.id`, `invocation.configSource`, `materials`). Each mismatch is a failed check
 * that names the field.
 */
import type { SlsaLevel, SourceExpectation } from '../policy/index.js';
import type { Check } from './types.js';

export const PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const PROVENANCE_TYPES: readonly string[] = [PROVENANCE_V1, PROVENANCE_V02];

/** What the user expects, from flags and/or the policy. */
export interface Expectations {
  source?: SourceExpectation;
  /** Expected builder id (slsa-verifier `--builder-id`): without `@ref` any ref of it matches. */
  builderId?: string;
  predicateTypes?: string[];
  minSlsaLevel?: SlsaLevel;
}

/** What a provenance statement says about its build. */
export interface ProvenanceFacts {
  predicateType: string;
  builderId?: string;
  buildType?: string;
  /** Source repository as written, e.g. `git+https://github.com/org/repo`. */
  sourceUri?: string;
  /** Full ref, e.g. `refs/heads/main`, `refs/tags/v1.2.3`. */
  sourceRef?: string;
  sourceDigest?: Record<string, string>;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export function provenanceFacts(statement: {
  predicateType?: unknown;
  predicate?: unknown;
}): ProvenanceFacts {
  const predicateType = String(statement.predicateType ?? '');
  const pred = obj(statement.predicate) ?? {};
  const facts: ProvenanceFacts = { predicateType };
  if (predicateType === PROVENANCE_V02) {
    facts.builderId = str(obj(pred.builder)?.id);
    facts.buildType = str(pred.buildType);
    const cfg = obj(obj(pred.invocation)?.configSource);
    const materials = Array.isArray(pred.materials) ? pred.materials.map(obj) : [];
    const src = str(cfg?.uri) ? cfg : materials.find((m) => str(m?.uri)?.startsWith('git+'));
    if (src) setSource(facts, str(src.uri)!, obj(src.digest));
    return facts;
  }
  const bd = obj(pred.buildDefinition) ?? {};
  facts.builderId = str(obj(obj(pred.runDetails)?.builder)?.id);
  facts.buildType = str(bd.buildType);
  const deps = Array.isArray(bd.resolvedDependencies) ? bd.resolvedDependencies.map(obj) : [];
  const ext = obj(bd.externalParameters) ?? {};
  const gitDep = deps.find((d) => str(d?.uri)?.startsWith('git+'));
  const workflow = obj(ext.workflow);
  const extSource = obj(ext.source);
  if (gitDep) setSource(facts, str(gitDep.uri)!, obj(gitDep.digest));
  else if (str(extSource?.uri)) setSource(facts, str(extSource!.uri)!, obj(extSource!.digest));
  else if (workflow && str(workflow.repository)) {
    facts.sourceUri = str(workflow.repository);
    facts.sourceRef = str(workflow.ref);
  }
  if (!facts.sourceRef) {
    // GitHub's own build types carry the ref only in the internal parameters.
    const internal = obj(bd.internalParameters);
    const ref = str(internal?.GITHUB_REF) ?? str(obj(internal?.github)?.ref);
    if (ref) facts.sourceRef = ref;
  }
  return facts;
}

function setSource(facts: ProvenanceFacts, uri: string, digest: Json | undefined): void {
  const at = uri.lastIndexOf('@');
  // `@` inside the authority (user@host) is not a ref separator; a ref follows the path.
  const slash = uri.indexOf('/', uri.indexOf('//') + 2);
  if (at > slash && slash > 0) {
    facts.sourceUri = uri.slice(0, at);
    facts.sourceRef = uri.slice(at + 1);
  } else facts.sourceUri = uri;
  if (digest)
    facts.sourceDigest = Object.fromEntries(
      Object.entries(digest).filter(([, v]) => typeof v === 'string'),
    ) as Record<string, string>;
}

/** `git+https://github.com/org/repo`, `https://github.com/org/repo/`, `github.com/org/repo` → `github.com/org/repo`. */
export function normalizeRepo(uri: string): string {
  let u = uri.trim();
  if (u.startsWith('git+')) u = u.slice(4);
  u = u.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  u = u.replace(/\/+$/, '');
  return u;
}

export interface Semver {
  major: number;
  minor?: number;
  patch?: number;
}

export function parseVersionTag(tag: string): Semver | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(tag);
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    ...(m[2] !== undefined ? { minor: Number(m[2]) } : {}),
    ...(m[3] !== undefined ? { patch: Number(m[3]) } : {}),
  };
}

/**
 * slsa-verifier's versioned tag: the expectation is a semver prefix; the components it gives
 * must equal the tag's (a missing tag component counts as 0, so v14 satisfies v14.0).
 */
export function versionedTagMatches(expected: string, tag: string): boolean {
  const e = parseVersionTag(expected);
  const t = parseVersionTag(tag);
  if (!e || !t) return false;
  if (e.major !== t.major) return false;
  if (e.minor !== undefined && e.minor !== (t.minor ?? 0)) return false;
  if (e.patch !== undefined && e.patch !== (t.patch ?? 0)) return false;
  return true;
}

/**
 * Builder id matching: exact, except that an expected id without `@` matches any ref of that
 * id (`…/builder_go_slsa3.yml` matches `…/builder_go_slsa3.yml@refs/tags/v2.1.0`).
 */
export function builderIdMatches(expected: string, actual: string): boolean {
  if (expected === actual) return true;
  if (expected.includes('@')) return false;
  const at = actual.lastIndexOf('@');
  return at > 0 && actual.slice(0, at) === expected;
}

function fail(name: string, field: string, detail: string, expected: unknown, actual: unknown): Check {
  return { name, ok: false, field, detail, expected, actual };
}
function pass(name: string, field: string, detail: string): Check {
  return { name, ok: true, field, detail };
}

/** Source and builder-id checks for one provenance. Only expectations that were stated produce checks. */
export function checkExpectations(facts: ProvenanceFacts, exp: Expectations): Check[] {
  const out: Check[] = [];
  const src = exp.source ?? {};
  const ref = facts.sourceRef;
  if (src.uri !== undefined) {
    const want = normalizeRepo(src.uri);
    const got = facts.sourceUri ? normalizeRepo(facts.sourceUri) : undefined;
    out.push(
      got === want
        ? pass('source repository', 'source.uri', `built from ${want}`)
        : fail(
            'source repository',
            'source.uri',
            `source ${got ?? '(none in provenance)'} != expected ${want}`,
            want,
            got,
          ),
    );
  }
  if (src.branches !== undefined) {
    const branch = ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
    if (branch === undefined) {
      out.push(
        fail(
          'source branch',
          'source.branch',
          `ref ${ref ?? '(none)'} is not a branch (expected ${src.branches.join(' or ')})`,
          src.branches,
          ref,
        ),
      );
    } else {
      out.push(
        src.branches.includes(branch)
          ? pass('source branch', 'source.branch', `built from branch ${branch}`)
          : fail(
              'source branch',
              'source.branch',
              `branch ${branch} != expected ${src.branches.join(' or ')}`,
              src.branches,
              branch,
            ),
      );
    }
  }
  const tag = ref?.startsWith('refs/tags/') ? ref.slice('refs/tags/'.length) : undefined;
  if (src.tags !== undefined) {
    if (tag === undefined) {
      out.push(
        fail(
          'source tag',
          'source.tag',
          `ref ${ref ?? '(none)'} is not a tag (expected ${src.tags.join(' or ')})`,
          src.tags,
          ref,
        ),
      );
    } else {
      out.push(
        src.tags.includes(tag)
          ? pass('source tag', 'source.tag', `built from tag ${tag}`)
          : fail(
              'source tag',
              'source.tag',
              `tag ${tag} != expected ${src.tags.join(' or ')}`,
              src.tags,
              tag,
            ),
      );
    }
  }
  if (src.versionedTag !== undefined) {
    if (tag === undefined) {
      out.push(
        fail(
          'source versioned tag',
          'source.versionedTag',
          `ref ${ref ?? '(none)'} is not a tag (expected version ${src.versionedTag})`,
          src.versionedTag,
          ref,
        ),
      );
    } else {
      out.push(
        versionedTagMatches(src.versionedTag, tag)
          ? pass('source versioned tag', 'source.versionedTag', `tag ${tag} is version ${src.versionedTag}`)
          : fail(
              'source versioned tag',
              'source.versionedTag',
              `tag ${tag} does not match version ${src.versionedTag}`,
              src.versionedTag,
              tag,
            ),
      );
    }
  }
  if (exp.builderId !== undefined) {
    const got = facts.builderId;
    out.push(
      got !== undefined && builderIdMatches(exp.builderId, got)
        ? pass('builder id', 'builder.id', `built by ${got}`)
        : fail(
            'builder id',
            'builder.id',
            `builder ${got ?? '(none in provenance)'} != expected ${exp.builderId}`,
            exp.builderId,
            got,
          ),
    );
  }
  return out;
}
