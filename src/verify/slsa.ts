/**
 * SLSA Build level of an artifact (DESIGN.md section 6), evaluated only over provenance whose
 * signature and subject binding have already verified:
 *   L0 no provenance for this digest;
 *   L1 provenance names this digest, but its builder or signer is not trusted higher;
 *   L2 signed by an identity the policy trusts for that builder;
 *   L3 as L2, and the policy gives that builder maxLevel 3.
 * Expectations (source, builder id) must hold for a provenance to count above L1.
 */
import {
  anchored,
  type Policy,
  type SlsaLevel,
  type TrustedBuilder,
  type TrustedSigner,
} from '../policy/index.js';
import {
  builderIdMatches,
  checkExpectations,
  provenanceFacts,
  type Expectations,
  type ProvenanceFacts,
} from './expectations.js';
import type { Check } from './types.js';

/** A verified provenance bundle and which policy signers signed it. */
export interface ProvenanceEvidence {
  /** Where the bundle came from (file path or referrer digest). */
  source: string;
  statement: { predicateType?: unknown; predicate?: unknown; subject?: unknown };
  /** Ids (see signerId) of the policy signers that match the bundle's verified signer. */
  signerIds: string[];
  /** Display form of the signer (SAN or key id). */
  signer?: string;
}

export interface LevelEvaluation {
  level: SlsaLevel;
  /** Why the level is not higher; empty at 3. */
  reason: string;
  checks: Check[];
  source?: string;
  facts?: ProvenanceFacts;
}

/** How builders' `signers` lists refer to policy signers: the name, else `signers[i]`. */
export function signerId(s: TrustedSigner, index: number): string {
  return s.name ?? `signers[${index}]`;
}

export function builderMatches(b: TrustedBuilder, id: string): boolean {
  if (b.id !== undefined) return builderIdMatches(b.id, id);
  if (b.idRegexp !== undefined) return anchored(b.idRegexp).test(id);
  return false;
}

export function evaluateProvenance(
  ev: ProvenanceEvidence,
  policy: Policy,
  exp: Expectations,
): LevelEvaluation {
  const facts = provenanceFacts(ev.statement);
  const checks = checkExpectations(facts, exp);
  const base = { checks, source: ev.source, facts };
  const failed = checks.find((c) => !c.ok);
  const cap = (r: { level: SlsaLevel; reason: string }): LevelEvaluation => {
    if (failed && r.level > 1) return { ...base, level: 1, reason: `expectation not met: ${failed.detail}` };
    return { ...base, ...r };
  };
  if (!facts.builderId) return cap({ level: 1, reason: 'provenance names no builder id' });
  const builders = (policy.builders ?? []).filter((b) => builderMatches(b, facts.builderId!));
  if (builders.length === 0)
    return cap({ level: 1, reason: `builder ${facts.builderId} is not trusted by the policy` });
  const trusted = builders.filter((b) =>
    b.signers ? b.signers.some((n) => ev.signerIds.includes(n)) : ev.signerIds.length > 0,
  );
  if (trusted.length === 0) {
    return cap({
      level: 1,
      reason: `signer ${ev.signer ?? '(unknown)'} is not trusted for builder ${facts.builderId}`,
    });
  }
  const max = Math.max(...trusted.map((b) => b.maxLevel)) as SlsaLevel;
  const level = Math.max(1, max) as SlsaLevel;
  const reason = level >= 3 ? '' : `the policy trusts builder ${facts.builderId} up to level ${max}`;
  return cap({ level, reason });
}

/**
 * The best level over all verified provenance: a provenance whose expectations hold wins over
 * a higher one whose expectations fail (whose failures are then reported).
 */
export function evaluateLevel(
  evidence: ProvenanceEvidence[],
  policy: Policy,
  exp: Expectations,
): LevelEvaluation {
  if (evidence.length === 0)
    return { level: 0, reason: 'no verified provenance names this artifact', checks: [] };
  const all = evidence.map((ev) => evaluateProvenance(ev, policy, exp));
  const meets = all.filter((e) => e.checks.every((c) => c.ok));
  const pool = meets.length > 0 ? meets : all;
  return pool.reduce((best, e) => (e.level > best.level ? e : best));
}

/** The `--min-slsa-level` check. */
export function levelCheck(level: SlsaLevel, min: SlsaLevel, reason: string): Check {
  return level >= min
    ? { name: 'SLSA build level', ok: true, field: 'slsaLevel', detail: `level ${level} >= required ${min}` }
    : {
        name: 'SLSA build level',
        ok: false,
        field: 'slsaLevel',
        detail: `level ${level} < required ${min}${reason ? `: ${reason}` : ''}`,
        expected: min,
        actual: level,
      };
}
