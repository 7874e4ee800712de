/**
 * What the three verify commands share: the plan from trust flags + policy + expectations, the
 * decision log, and the exit code. Each command only says what its subjects are.
 */
import type { TrustFlagValues } from './flags/trust.js';
import { trustOptions } from './flags/trust.js';
import { expectationsFromFlags, type ExpectationFlagValues } from './flags/expectations.js';
import { appendDecision, decisionRecord, loadPolicy, type LoadedPolicy } from '../src/policy/index.js';
import { planVerification, type VerificationPlan, type VerdictWithInputs } from '../src/verify/index.js';

export type VerifyFlagValues = TrustFlagValues &
  ExpectationFlagValues & { policy?: string; 'decision-log'?: string };

export async function planFromFlags(flags: VerifyFlagValues): Promise<VerificationPlan> {
  const expectations = expectationsFromFlags(flags);
  const policy: LoadedPolicy | undefined = flags.policy ? await loadPolicy(flags.policy) : undefined;
  // A policy that trusts only keys needs no TUF refresh of the public-good root.
  const policyKeyless =
    !!policy &&
    (policy.policy.signers.some((s) => s.identity) ||
      (policy.policy.trustedVerifiers ?? []).some((v) => v.signers.some((s) => s.identity)));
  const flagKeyless =
    flags['certificate-identity'] !== undefined || flags['certificate-identity-regexp'] !== undefined;
  const offline = flags.offline || (!policyKeyless && !flagKeyless);
  const trust = await trustOptions({ ...flags, offline });
  return planVerification({ trust, policy, expectations });
}

export async function logDecisions(
  file: string | undefined,
  verdicts: VerdictWithInputs[],
  plan: VerificationPlan,
): Promise<void> {
  if (!file) return;
  for (const v of verdicts) {
    await appendDecision(
      file,
      decisionRecord(v, { action: 'verify', policy: plan.loaded ?? { uri: 'inline:flags' } }),
    );
  }
}
