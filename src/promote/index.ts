/**
 * The promotion gate: verify → copy → re-verify → VSA → tag, in that order, by digest.
 *
 * 1. resolve SRC to a digest once; check SRC and DST against the policy's promotion allowlists;
 * 2. verify SRC by digest against the policy (refusal: nothing is written);
 * 3. copy the manifest/index, children, blobs and referrers to DST by digest, no tag;
 * 4. re-verify at DST by digest, reading back what the destination stored;
 * 5. sign a SLSA VSA v1 for DST@digest and attach it to DST;
 * 6. only now write the DST tag, then append the decision record.
 *
 * A failure in steps 3–6 leaves the DST tag as it was and says which step failed; running the
 * same promotion again completes it (copy skips what is present). A re-run attaches a second VSA
 * (its timeVerified differs): deduplicating would need trusting the earlier one, which the gate
 * does not do.
 */
import { open } from 'node:fs/promises';
import { badInput, isVouchError, rejected, toVouchError, VouchError, type ExitCode } from '../errors.js';
import {
  copy,
  formatReference,
  isNotFound,
  openStore,
  parseReference,
  withDigest,
  type CopyProgress,
  type CopyResult,
  type Reference,
  type RegistryOptions,
  type Store,
} from '../oci/index.js';
import type { LoadedPolicy, SlsaLevel } from '../policy/types.js';
import type { Check, Verdict } from '../verify/types.js';
import { findMatch, locationName } from './patterns.js';
import { planPromotion, type PromotionPlan } from './plan.js';
import { buildVsa, VOUCH_VERIFIER_ID, VSA_PREDICATE_TYPE, type VsaStatement } from './vsa.js';
import { validateStatement } from '../attestation/index.js';
import { attachBundle } from '../bundles/index.js';
import { appendDecision, type DecisionRecord } from '../policy/index.js';
import { loadPrivateKey, resolveIdentityToken, signStatement, type SignerSpec } from '../signing/index.js';
import { verifyImage, type TrustOptions } from '../verify/index.js';

export * from './patterns.js';
export * from './plan.js';
export * from './vsa.js';

export const STEPS = ['resolve', 'verify', 'copy', 'reverify', 'vsa', 'tag'] as const;
export type StepName = (typeof STEPS)[number];
export const STEP_TITLES: Record<StepName, string> = {
  resolve: 'resolve and check allowlists',
  verify: 'verify source',
  copy: 'copy',
  reverify: 're-verify at destination',
  vsa: 'sign and attach VSA',
  tag: 'write destination tag',
};

export interface StepRecord {
  step: number;
  name: StepName;
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
}

export interface PromoteOptions {
  /** Source reference (tag or digest), registry or `oci:` layout. */
  source: string;
  /** Destination reference; its tag (if any) is written last; its digest (if any) must equal the source's. */
  destination: string;
  policy: LoadedPolicy;
  /** Trusted root and, optionally, identities/keys; without identities/keys trust comes from the policy. */
  trust: TrustOptions;
  /** Who signs the VSA; required unless dryRun. */
  signer?: SignerSpec;
  registry?: RegistryOptions;
  /** Raises policy.minSlsaLevel (never lowers it). */
  minSlsaLevel?: SlsaLevel;
  dryRun?: boolean;
  /** JSON Lines file the ALLOW/DENY record is appended to. */
  decisionLog?: string;
  /** Copy progress (bytes, blobs) during step 3, for a TTY progress line. */
  onProgress?: (p: CopyProgress) => void;
  /** Called as each step finishes (the CLI prints these on stderr). */
  onStep?: (s: StepRecord) => void;
  /** Clock (tests). */
  now?: () => Date;
  /** vouch version for VSA verifier.version. */
  version?: string;
}

export interface VerificationSummary {
  ok: boolean;
  subject: string;
  digest: string;
  slsaLevel: SlsaLevel;
  levelReason: string;
  reason: string;
  predicateTypes: string[];
  checks: Check[];
  bundles: {
    digest: string;
    source: string;
    predicateType?: string;
    signer?: string;
    ok: boolean;
    error?: string;
  }[];
}

export interface PromotionResult {
  decision: 'ALLOW' | 'DENY';
  dryRun: boolean;
  /** One line: why. */
  reason: string;
  /** Set when the promotion stopped: which step. */
  failedStep?: { step: number; name: StepName };
  source: { reference: string; name: string; digest?: string; mediaType?: string };
  destination: {
    reference: string;
    name: string;
    digest?: string;
    tag?: string;
    /** What the destination tag pointed to before (null: absent). */
    previousTagDigest?: string | null;
    tagged?: boolean;
  };
  policy: { uri: string; sha256: string };
  /** Allowlist checks then the source verification's checks. */
  checks: Check[];
  slsaLevel?: SlsaLevel;
  verification?: VerificationSummary;
  destinationVerification?: VerificationSummary;
  plan?: PromotionPlan;
  copy?: CopyResult;
  vsa?: { bundleDigest: string; referrer: string; signer: string; statement: VsaStatement };
  steps: StepRecord[];
}

/** Thrown for a failure in steps 3–6 (and I/O in 1–2); `details.result` holds the partial result. */
export class PromotionError extends VouchError {}

/** Runs the promotion gate. Refusals return `decision: 'DENY'`; I/O failures throw PromotionError. */
export async function promote(opts: PromoteOptions): Promise<PromotionResult> {
  const { policy } = opts;
  const now = opts.now ?? (() => new Date());
  const srcRef = parseReference(opts.source);
  const dstRef = parseReference(opts.destination);
  const srcSelector = srcRef.digest ?? srcRef.tag;
  if (!srcSelector) {
    throw badInput(
      'PROMOTE_SOURCE_UNPINNED',
      `source "${opts.source}" names no tag or digest`,
      'add :TAG or @sha256:… to the source',
    );
  }
  if (!opts.dryRun && !opts.signer) {
    throw badInput(
      'PROMOTE_NO_SIGNER',
      'no signer for the verification summary attestation',
      'pass --key FILE or keyless signing flags (--identity-token …), or use --dry-run',
    );
  }

  const result: PromotionResult = {
    decision: 'DENY',
    dryRun: !!opts.dryRun,
    reason: '',
    source: { reference: opts.source, name: locationName(srcRef) },
    destination: {
      reference: opts.destination,
      name: locationName(dstRef),
      ...(dstRef.tag ? { tag: dstRef.tag } : {}),
    },
    policy: { uri: policy.uri, sha256: policy.sha256 },
    checks: [],
    steps: [],
  };
  const record = (name: StepName, status: StepRecord['status'], detail: string): void => {
    const s: StepRecord = { step: STEPS.indexOf(name) + 1, name, status, detail };
    result.steps.push(s);
    opts.onStep?.(s);
  };
  const skipRest = (after: StepName): void => {
    for (const s of STEPS.slice(STEPS.indexOf(after) + 1))
      record(s, 'skipped', opts.dryRun ? 'dry run' : 'not reached');
  };
  if (opts.decisionLog && !opts.dryRun) await assertAppendable(opts.decisionLog);
  // The VSA signer is checked before anything is read or written: a wrong password or a missing
  // identity token must not surface at step 5, after the copy.
  const signer = opts.dryRun || !opts.signer ? undefined : await preflightSigner(opts.signer);

  let current: StepName = 'resolve';
  let allowContext: DecisionContext = {};
  let dstStore: Store | undefined;
  try {
    // Step 1: resolve once, allowlists, destination state. Reads only.
    const srcStore = await openStore(srcRef, opts.registry);
    const rootDesc = await srcStore.resolve(srcSelector);
    result.source.digest = rootDesc.digest;
    result.source.mediaType = rootDesc.mediaType;
    result.destination.digest = rootDesc.digest;
    if (dstRef.digest && dstRef.digest !== rootDesc.digest) {
      throw badInput(
        'PROMOTE_DIGEST_MISMATCH',
        `destination names ${dstRef.digest} but the source resolves to ${rootDesc.digest}`,
        'a promotion keeps the digest: name a destination tag, or the source digest',
      );
    }
    const allow = allowlistChecks(policy, srcRef, dstRef);
    result.checks.push(...allow);
    const deniedAllow = allow.find((c) => !c.ok);
    if (deniedAllow) {
      result.reason = deniedAllow.detail;
      result.failedStep = { step: 1, name: 'resolve' };
      record('resolve', 'failed', deniedAllow.detail);
      skipRest('resolve');
      return await finishDenied(result, opts, now);
    }
    dstStore = await openStore(dstRef, opts.registry);
    if (dstRef.tag) result.destination.previousTagDigest = await currentTag(dstStore, dstRef.tag);
    record(
      'resolve',
      'ok',
      `${srcSelector === rootDesc.digest ? '' : `${srcSelector} → `}${rootDesc.digest}; source and destination allowlisted`,
    );

    // Step 2: verify the source by digest.
    current = 'verify';
    const verdict = await verifyImage(srcStore, rootDesc, policy, opts.trust, verifyOpts(opts));
    result.verification = summarize(verdict);
    result.checks.push(...verdict.checks);
    result.slsaLevel = verdict.slsaLevel;
    if (!verdict.ok) {
      result.reason = withRejectedBundles(verdict.reason, result.verification);
      result.failedStep = { step: 2, name: 'verify' };
      record('verify', 'failed', verdict.reason);
      skipRest('verify');
      return await finishDenied(result, opts, now);
    }
    record('verify', 'ok', `SLSA Build L${verdict.slsaLevel}; ${verdict.checks.length} checks passed`);

    if (opts.dryRun) {
      result.plan = await planPromotion(srcStore, rootDesc, dstStore);
      result.decision = 'ALLOW';
      result.reason = `would promote ${result.source.name}@${rootDesc.digest} to ${describeDst(result)}`;
      skipRest('verify');
      return result;
    }

    // Step 3: copy by digest, no tag.
    current = 'copy';
    // Compiling the VSA schema costs ~0.1 s of CPU; do it while the copy waits on the network.
    setImmediate(warmVsaSchema);
    const copied = await copy(srcStore, rootDesc.digest, dstStore, {
      referrers: true,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
    if (copied.destination.digest !== rootDesc.digest) {
      throw rejected(
        'PROMOTE_DIGEST_CHANGED',
        `the destination stored ${copied.destination.digest}, not ${rootDesc.digest}`,
      );
    }
    result.copy = copied;
    record(
      'copy',
      'ok',
      `${copied.manifests} manifests, ${copied.referrers} referrers, blobs ${copied.blobs.copied} copied / ${copied.blobs.mounted} mounted / ${copied.blobs.skipped} present (${copied.blobs.bytes} bytes)`,
    );

    // Step 4: re-verify what the destination stored.
    current = 'reverify';
    const dstDesc = await dstStore.resolve(rootDesc.digest);
    const again = await verifyImage(dstStore, dstDesc, policy, opts.trust, verifyOpts(opts));
    result.destinationVerification = summarize(again);
    if (!again.ok)
      throw rejected('PROMOTE_REVERIFY_FAILED', `the destination copy does not verify: ${again.reason}`);
    record(
      'reverify',
      'ok',
      `SLSA Build L${again.slsaLevel} at ${result.destination.name}@${dstDesc.digest}`,
    );

    // Step 5: the VSA, validated before it is signed.
    current = 'vsa';
    const inputs = evidenceDigests(again).map((digest) => ({
      digest,
      uri: attestationUri(again, digest, dstRef),
    }));
    const statement = buildVsa({
      subjectName: locationName(dstRef),
      digest: dstDesc.digest,
      resourceUri: formatReference(withDigest(stripTag(dstRef), dstDesc.digest)),
      policy: { uri: policy.uri, sha256: policy.sha256 },
      inputAttestations: inputs,
      level: again.slsaLevel,
      timeVerified: now(),
      verifierId: VOUCH_VERIFIER_ID,
      ...(opts.version ? { verifierVersion: { vouch: opts.version } } : {}),
    });
    validateStatement(statement);
    const signed = await signStatement(statement, signer as SignerSpec);
    const referrer = await attachBundle(dstStore, dstDesc, signed.bundle, { bytes: signed.bundleBytes });
    result.vsa = { bundleDigest: signed.digest, referrer: referrer.digest, signer: signed.signer, statement };
    record('vsa', 'ok', `VSA ${signed.digest} signed by ${signed.signer}, attached as ${referrer.digest}`);

    // Step 6: the tag, last; then read it back.
    current = 'tag';
    if (dstRef.tag) {
      const root = await dstStore.fetchManifest(dstDesc.digest);
      await dstStore.pushManifest(root.bytes, root.descriptor.mediaType, dstRef.tag);
      const now2 = await dstStore.resolve(dstRef.tag);
      if (now2.digest !== dstDesc.digest) {
        throw rejected(
          'PROMOTE_TAG_MISMATCH',
          `tag ${dstRef.tag} resolves to ${now2.digest} after writing ${dstDesc.digest}`,
        );
      }
      result.destination.tagged = true;
      record('tag', 'ok', `${dstRef.tag} → ${dstDesc.digest}`);
    } else {
      record('tag', 'skipped', 'the destination names no tag');
    }
    result.decision = 'ALLOW';
    result.reason = `promoted ${result.source.name}@${rootDesc.digest} to ${describeDst(result)} at SLSA Build L${again.slsaLevel}`;
    allowContext = verdictContext(again);
  } catch (err) {
    const ve = toVouchError(err);
    if (ve.exitCode === 2) throw ve;
    const n = STEPS.indexOf(current) + 1;
    result.failedStep = { step: n, name: current };
    result.reason = `promotion failed at step ${n} (${current}): ${ve.message}`;
    record(current, 'failed', ve.message);
    skipRest(current);
    if (opts.decisionLog && !opts.dryRun && result.source.digest) {
      try {
        await appendDecision(opts.decisionLog, decision(result, now(), {}));
      } catch {
        // The step failure is the error to report; a log failure must not mask it.
      }
    }
    let tagNote = dstRef.tag ? `the destination tag ${dstRef.tag} was not changed; ` : '';
    if (n === 6 && dstRef.tag && dstStore) {
      // The tag write itself failed: say what the tag holds now rather than assume.
      const nowAt = await currentTag(dstStore, dstRef.tag).catch(() => undefined);
      if (nowAt === undefined || nowAt !== result.destination.previousTagDigest) {
        tagNote = `the write of tag ${dstRef.tag} did not complete (it now points to ${nowAt ?? 'an unknown digest'}); `;
      }
    }
    throw new PromotionError(ve.code, result.reason, {
      exitCode: ve.exitCode as ExitCode,
      hint: n >= 3 ? `${tagNote}run the same command again to complete the promotion` : ve.hint,
      cause: err,
      details: { result },
    });
  }
  // The promotion is complete: a failure to log it must not read as a failed step.
  if (opts.decisionLog) {
    try {
      await appendDecision(opts.decisionLog, decision(result, now(), allowContext));
    } catch (err) {
      const ve = toVouchError(err);
      throw new VouchError(
        'DECISION_LOG',
        `promoted, but the decision record was not written: ${ve.message}`,
        {
          exitCode: 3,
          hint: 'the destination is complete and tagged; check the --decision-log path',
          cause: err,
          details: { result },
        },
      );
    }
  }
  return result;
}

async function finishDenied(
  result: PromotionResult,
  opts: PromoteOptions,
  now: () => Date,
): Promise<PromotionResult> {
  result.decision = 'DENY';
  if (opts.decisionLog && !opts.dryRun && result.source.digest) {
    const ctx = result.verification ? verdictContextFromSummary(result.verification) : {};
    await appendDecision(opts.decisionLog, decision(result, now(), ctx));
  }
  return result;
}

/** The verdict's reason plus, when attestations were rejected, the first of them and why. */
function withRejectedBundles(reason: string, v: VerificationSummary): string {
  const bad = v.bundles.filter((b) => !b.ok);
  if (bad.length === 0) return reason;
  const first = bad[0] as VerificationSummary['bundles'][number];
  const what = first.predicateType ? `${first.predicateType} attestation` : 'attestation';
  return `${reason}; ${bad.length} attestation(s) rejected, e.g. ${what} ${first.source}: ${first.error}`;
}

function verifyOpts(opts: PromoteOptions): { minSlsaLevel?: SlsaLevel } {
  return opts.minSlsaLevel === undefined ? {} : { minSlsaLevel: opts.minSlsaLevel };
}

/** The allowlist checks: a promotion section is required (fail closed), both ends must match. */
export function allowlistChecks(loaded: LoadedPolicy, src: Reference, dst: Reference): Check[] {
  const rules = loaded.policy.promotion;
  if (!rules || !rules.sources?.length || !rules.destinations?.length) {
    return [
      {
        name: 'promotion allowlist',
        ok: false,
        field: 'promotion',
        detail: `policy ${loaded.uri} has no promotion section: promotion refused (add promotion.sources and promotion.destinations, e.g. vouch policy init --promote-from … --promote-to …)`,
      },
    ];
  }
  const one = (which: 'sources' | 'destinations', ref: Reference): Check => {
    const name = locationName(ref);
    const hit = findMatch(rules[which], ref, loaded.baseDir);
    const label = which === 'sources' ? 'source' : 'destination';
    return hit
      ? {
          name: `${label} allowlisted`,
          ok: true,
          field: `promotion.${which}`,
          detail: `${name} matches ${hit}`,
        }
      : {
          name: `${label} allowlisted`,
          ok: false,
          field: `promotion.${which}`,
          expected: rules[which],
          actual: name,
          detail: `${label} ${name} is not in promotion.${which} (${rules[which].join(', ')})`,
        };
  };
  return [one('sources', src), one('destinations', dst)];
}

async function currentTag(store: Store, tag: string): Promise<string | null> {
  try {
    return (await store.resolve(tag)).digest;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

function summarize(v: Verdict): VerificationSummary {
  return {
    ok: v.ok,
    subject: v.subject,
    digest: v.digest,
    slsaLevel: v.slsaLevel,
    levelReason: v.levelReason,
    reason: v.reason,
    predicateTypes: v.predicateTypes,
    checks: v.checks,
    bundles: v.bundles.map((b) => ({
      digest: b.digest,
      source: b.source,
      ok: b.ok,
      ...(b.predicateType ? { predicateType: b.predicateType } : {}),
      ...(b.signer ? { signer: b.signer } : {}),
      ...(b.ok ? {} : { error: b.error ?? b.checks.find((c) => !c.ok)?.detail ?? 'failed' }),
    })),
  };
}

/**
 * Every attestation the verdict rests on: the trusted-signer bundles verifyImage lists, plus
 * VSAs from trusted verifiers that verified cleanly (verifyImage counts them as level evidence
 * but does not list them; the VSA spec wants all inputs named).
 */
function evidenceDigests(v: Verdict & { inputAttestations: { digest: string }[] }): string[] {
  const out = new Set(v.inputAttestations.map((a) => a.digest));
  for (const b of v.bundles) {
    if (b.ok && b.predicateType === VSA_PREDICATE_TYPE && b.checks.every((c) => c.ok)) out.add(b.digest);
  }
  return [...out];
}

/** Where a bundle can be fetched at the destination: its referrer manifest, by digest. */
function attestationUri(v: Verdict, bundleDigest: string, dst: Reference): string | undefined {
  const b = v.bundles.find((x) => x.digest === bundleDigest);
  if (!b || !/^sha256:[a-f0-9]{64}$/.test(b.source)) return undefined;
  return formatReference(withDigest(stripTag(dst), b.source));
}

function stripTag<T extends Reference>(ref: T): T {
  const copyRef = { ...ref };
  delete copyRef.tag;
  delete copyRef.digest;
  return copyRef;
}

function describeDst(r: PromotionResult): string {
  return `${r.destination.name}${r.destination.tag ? `:${r.destination.tag}` : ''}@${r.destination.digest}`;
}

interface DecisionContext {
  slsaLevel?: SlsaLevel;
  levelReason?: string;
  predicateTypes?: string[];
  failedChecks?: { name: string; detail: string; field?: string }[];
  inputAttestations?: { digest: string; predicateType: string }[];
  destination?: string;
}

function verdictContext(
  v: Verdict & { inputAttestations: { digest: string; predicateType: string }[] },
): DecisionContext {
  return { ...verdictContextFromSummary(summarize(v)), inputAttestations: v.inputAttestations };
}

function verdictContextFromSummary(v: VerificationSummary): DecisionContext {
  const failed = v.checks
    .filter((c) => !c.ok)
    .map((c) => ({ name: c.name, detail: c.detail, ...(c.field ? { field: c.field } : {}) }));
  return {
    slsaLevel: v.slsaLevel,
    levelReason: v.levelReason,
    predicateTypes: v.predicateTypes,
    ...(failed.length ? { failedChecks: failed } : {}),
  };
}

/** One decision record (schemas/decision.schema.json). */
export function decision(result: PromotionResult, at: Date, ctx: DecisionContext): DecisionRecord {
  const failedAllow = result.checks.filter((c) => !c.ok && c.field?.startsWith('promotion'));
  const failedChecks = [
    ...failedAllow.map((c) => ({ name: c.name, detail: c.detail, ...(c.field ? { field: c.field } : {}) })),
    ...(ctx.failedChecks ?? []),
  ];
  return {
    timestamp: at.toISOString(),
    subject: result.source.digest as string,
    resource: `${result.source.name}@${result.source.digest}`,
    action: 'promote',
    result: result.decision,
    policy: { uri: result.policy.uri, sha256: result.policy.sha256 },
    reason: result.reason,
    context: {
      ...ctx,
      ...(failedChecks.length ? { failedChecks } : {}),
      destination: describeDst(result),
    },
  };
}

function warmVsaSchema(): void {
  try {
    validateStatement(
      buildVsa({
        subjectName: 'warm-up',
        digest: `sha256:${'0'.repeat(64)}`,
        resourceUri: `warm-up@sha256:${'0'.repeat(64)}`,
        policy: { uri: 'warm-up', sha256: '0'.repeat(64) },
        inputAttestations: [],
        level: 0,
      }),
    );
  } catch {
    // Only a warm-up: the real statement is validated (and any problem reported) at step 5.
  }
}

async function preflightSigner(spec: SignerSpec): Promise<SignerSpec> {
  if (spec.kind === 'key') {
    await loadPrivateKey(spec.keyPath, spec.password);
    return spec;
  }
  const token = await resolveIdentityToken(spec.identityToken, spec.env ?? process.env);
  return { ...spec, identityToken: token.token };
}

/** Fails before anything is done when the decision log cannot be appended to. */
async function assertAppendable(file: string): Promise<void> {
  try {
    const fh = await open(file, 'a');
    await fh.close();
  } catch (err) {
    const ve = toVouchError(err);
    throw badInput(
      'DECISION_LOG',
      `cannot append to decision log ${file}: ${ve.message}`,
      'check the path and permissions',
      err,
    );
  }
}

export function isPromotionError(err: unknown): err is PromotionError {
  return isVouchError(err) && err instanceof PromotionError;
}
