/**
 * From verified bundles to a Verdict: which bundles count as evidence (verified, and signed by a
 * signer the policy trusts for that purpose), the required predicate types, the SLSA level,
 * source expectations, vulnerability thresholds and VSA evidence. Fail closed throughout: no
 * evidence is a failure, never "nothing to check".
 */
import type { SlsaLevel } from '../policy/index.js';
import type { VerifiedBundle } from './bundle.js';
import { PROVENANCE_TYPES } from './expectations.js';
import type { VerificationPlan } from './plan.js';
import { evaluateLevel, levelCheck, type ProvenanceEvidence } from './slsa.js';
import type { BundleReport, Check, Verdict } from './types.js';
import { evaluateVsa, VSA_V1 } from './vsa-evidence.js';
import { checkVulns, VULNS_V02 } from './vulns.js';

/** What a verdict used as evidence (VSA `inputAttestations`). */
export interface InputAttestation {
  digest: string;
  predicateType: string;
}

export type VerdictWithInputs = Verdict & { inputAttestations: InputAttestation[] };

/** A bundle as found: verified, or unreadable (discovery or parse error). */
export type FoundBundle = { verified: VerifiedBundle } | { unreadable: BundleReport };

export const MESSAGE_SIGNATURE = 'message-signature';

export function buildVerdict(
  subject: string,
  digest: string,
  found: FoundBundle[],
  plan: VerificationPlan,
): VerdictWithInputs {
  const bundles: BundleReport[] = [];
  const checks: Check[] = [];
  const trusted: VerifiedBundle[] = [];
  const provenance: ProvenanceEvidence[] = [];
  const vulns: unknown[] = [];
  let vsaLevel: SlsaLevel = 0;
  let vsaBy = '';
  let vsaRejected: string | undefined;

  for (const f of found) {
    if ('unreadable' in f) {
      bundles.push(f.unreadable);
      checks.push({
        name: 'attestation readable',
        ok: false,
        field: 'bundle',
        detail: `${f.unreadable.source}: ${f.unreadable.error ?? 'unreadable'}`,
      });
      continue;
    }
    const vb = f.verified;
    const report = vb.report;
    bundles.push(report);
    if (!report.ok) continue;
    const roles = plan.roles(vb.signer);
    const type = vb.statement?.predicateType ?? MESSAGE_SIGNATURE;
    if (type === VSA_V1 && roles.verifiers.length > 0 && vb.statement) {
      const e = evaluateVsa(vb.statement, { verifierIds: roles.verifiers, digest });
      if (!e.ok) vsaRejected ??= `VSA ${report.source} not accepted: ${e.checks.find((c) => !c.ok)!.detail}`;
      if (e.ok && e.level > vsaLevel) {
        vsaLevel = e.level;
        vsaBy = e.verifierId ?? '';
      }
    }
    if (roles.signers.length === 0) {
      if (type !== VSA_V1 || roles.verifiers.length === 0) {
        report.ok = false;
        const detail = `signer ${report.signer ?? '(unknown)'} is not a signer of this policy`;
        report.checks.push({ name: 'trusted signer', ok: false, field: 'signer', detail });
        report.error ??= detail;
      }
      continue;
    }
    trusted.push(vb);
    if (vb.statement && PROVENANCE_TYPES.includes(type)) {
      provenance.push({
        source: report.source,
        statement: vb.statement,
        signerIds: roles.signers,
        signer: report.signer,
      });
    }
    if (vb.statement && type === VULNS_V02) vulns.push(vb.statement.predicate);
  }

  const predicateTypes = [...new Set(trusted.map((b) => b.statement?.predicateType ?? MESSAGE_SIGNATURE))];
  const exp = plan.expectations;

  // Evidence: the required predicate types, or at least one trusted signature.
  const required = exp.predicateTypes ?? [];
  if (required.length > 0) {
    for (const t of required) {
      const n = trusted.filter((b) => (b.statement?.predicateType ?? MESSAGE_SIGNATURE) === t).length;
      checks.push(
        n > 0
          ? { name: 'required attestation', ok: true, field: 'predicateType', detail: `${n} verified ${t}` }
          : {
              name: 'required attestation',
              ok: false,
              field: 'predicateType',
              detail: `no verified attestation of type ${t}${firstFailure(bundles)}`,
              expected: t,
            },
      );
    }
  } else {
    checks.push(
      trusted.length > 0
        ? {
            name: 'trusted signature',
            ok: true,
            detail: `${trusted.length} bundle(s) verified with a trusted signer`,
          }
        : {
            name: 'trusted signature',
            ok: false,
            detail:
              bundles.length === 0
                ? 'no signatures or attestations found'
                : `no bundle verified with a trusted signer${firstFailure(bundles)}`,
          },
    );
  }

  // SLSA level and expectations.
  const lvl = evaluateLevel(provenance, plan.policy, exp);
  let level = lvl.level;
  let levelReason = lvl.reason;
  if (vsaLevel > level) {
    level = vsaLevel;
    levelReason = vsaLevel >= 3 ? '' : `verification summary from ${vsaBy} states level ${vsaLevel}`;
  } else if (vsaRejected && level < 3) levelReason = `${levelReason}; ${vsaRejected}`;
  const stated = !!exp.builderId || !!(exp.source && Object.keys(exp.source).length > 0);
  if (stated) {
    if (provenance.length === 0) {
      checks.push({
        name: 'provenance',
        ok: false,
        field: 'predicateType',
        detail: 'source/builder expectations stated but no verified provenance names this artifact',
      });
    } else checks.push(...lvl.checks);
  }
  if (exp.minSlsaLevel !== undefined) checks.push(levelCheck(level, exp.minSlsaLevel, levelReason));

  checks.push(...checkVulns(vulns, plan.policy.vulnerabilities));

  const ok = checks.length > 0 && checks.every((c) => c.ok);
  const failed = checks.find((c) => !c.ok);
  return {
    ok,
    subject,
    digest,
    slsaLevel: level,
    levelReason,
    predicateTypes,
    bundles,
    checks,
    reason: failed ? failed.detail : 'all checks passed',
    inputAttestations: trusted.map((b) => ({
      digest: b.report.digest,
      predicateType: b.statement?.predicateType ?? MESSAGE_SIGNATURE,
    })),
  };
}

function firstFailure(bundles: BundleReport[]): string {
  const bad = bundles.find((b) => !b.ok);
  if (!bad) return '';
  const why = bad.error ?? bad.checks.find((c) => !c.ok)?.detail ?? 'failed';
  return ` (${bundles.filter((b) => !b.ok).length} failed; first: ${why})`;
}
