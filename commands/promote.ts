import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../cli/base.js';
import { badInput } from '../src/errors.js';
import { registryFlags, registryOptions } from '../cli/flags/registry.js';
import { signingFlags, signerSpec } from '../cli/flags/signing.js';
import { trustFlags, trustOptions } from '../cli/flags/trust.js';
import { loadPolicy } from '../src/policy/index.js';
import type { SlsaLevel } from '../src/policy/types.js';
import type { CopyProgress } from '../src/oci/index.js';
import { promote, STEP_TITLES, STEPS, type PlanCounts, type PromotionResult } from '../src/promote/index.js';

// In promote, --key is the VSA signing key (signing flags); verification trust comes from the
// policy (or identity flags), so the trust group's public --key is left out.
const { key: _verifyKey, ...verifyTrustFlags } = trustFlags;

export default class Promote extends VouchCommand {
  static override summary = 'Promote an image to another registry or layout only if it passes the policy.';
  static override description = `Steps, in order: (1) resolve SRC to a digest once and check SRC and DST against the policy's promotion allowlists; (2) verify SRC by digest against the policy (signers, builders → SLSA level, source, required predicate types, vulnerability thresholds); (3) copy the manifest or index, every child, blob and referrer to DST by digest, without the tag; (4) re-verify at DST by digest; (5) sign a SLSA Verification Summary Attestation (VSA v1, verifier.id https://vouch.dev/promote/v1) for DST@digest and attach it to DST; (6) only then write the DST tag, and append the decision record.

A refusal exits 1 and writes nothing at DST. A failure in steps 3-6 leaves the DST tag as it was, names the failed step and exits 3 (or 1); running the same command again completes the promotion (a re-run attaches a second VSA). --key is the key that signs the VSA; verification trust comes from the policy unless identity flags are given.

Allowlist patterns (promotion.sources / promotion.destinations) name repositories: REGISTRY/REPOSITORY matched against the canonical name (e.g. 127.0.0.1:5000/staging/app), or oci:PATH for a layout (a relative PATH is resolved against the policy file's directory); * matches within one path segment, ** across segments; everything else is literal. A policy without a promotion section refuses every promotion.`;
  static override examples = [
    '<%= config.bin %> promote ghcr.io/acme/staging/app:1.4.0 ghcr.io/acme/prod/app:1.4.0 --policy policy.yaml --key vouch.key',
    '<%= config.bin %> promote oci:./staging:v1 oci:./prod:v1 --policy policy.yaml --key vouch.key --decision-log decisions.jsonl',
    '<%= config.bin %> promote 127.0.0.1:5000/staging/app:v1 127.0.0.1:5001/prod/app:v1 --policy policy.yaml --dry-run --plain-http',
  ];
  static override args = {
    src: Args.string({
      description: 'Source image: REGISTRY/REPO:TAG, REGISTRY/REPO@DIGEST or oci:PATH[:TAG|@DIGEST].',
      required: true,
    }),
    dst: Args.string({
      description: 'Destination: REGISTRY/REPO[:TAG] or oci:PATH[:TAG]; the tag is written last.',
      required: true,
    }),
  };
  static override flags = {
    // Checked in run() rather than `required`: oclif's missing-flag error is multi-line.
    policy: Flags.string({ description: 'Policy file (YAML or JSON) with a promotion section (required).' }),
    'min-slsa-level': Flags.integer({
      description: 'Minimum SLSA Build level (raises the policy minimum, never lowers it).',
      min: 0,
      max: 3,
    }),
    'dry-run': Flags.boolean({
      description: 'Verify and print the plan and the decision; write nothing.',
      default: false,
    }),
    'decision-log': Flags.string({
      description: 'Append the ALLOW/DENY decision record (JSON line) to this file.',
    }),
    ...signingFlags,
    ...verifyTrustFlags,
    ...registryFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Promote);
    if (!flags.policy) {
      throw badInput(
        'PROMOTE_NO_POLICY',
        'vouch promote needs --policy FILE',
        'write one with: vouch policy init … --promote-from PATTERN --promote-to PATTERN --out policy.yaml',
      );
    }
    const policy = await loadPolicy(flags.policy);
    const trust = await trustOptions({ ...flags, key: undefined } as Parameters<typeof trustOptions>[0]);
    const dryRun = flags['dry-run'];
    const signer = dryRun && !flags.key && !flags['identity-token'] ? undefined : await signerSpec(flags);
    const registry = await registryOptions(flags);
    this.note(`promote ${args.src} → ${args.dst}${dryRun ? ' (dry run)' : ''}`);
    const progress = process.stderr.isTTY && !this.json ? ttyProgress() : undefined;
    const result = await promote({
      source: args.src,
      destination: args.dst,
      policy,
      trust,
      signer,
      registry,
      dryRun,
      ...(flags['min-slsa-level'] === undefined
        ? {}
        : { minSlsaLevel: flags['min-slsa-level'] as SlsaLevel }),
      ...(flags['decision-log'] ? { decisionLog: flags['decision-log'] } : {}),
      version: this.config.version,
      ...(progress ? { onProgress: progress.update } : {}),
      onStep: (s) => {
        progress?.clear();
        this.note(
          `step ${s.step}/${STEPS.length} ${STEP_TITLES[s.name]}: ${s.status === 'ok' ? 'ok' : s.status}${s.detail ? ` — ${s.detail}` : ''}`,
        );
      },
    });
    this.render(result, renderHuman);
    if (result.decision === 'DENY') {
      this.note(`refused: ${result.reason}`);
      this.setExit(1);
    }
  }
}

function renderHuman(r: PromotionResult): string {
  const out: string[] = [];
  out.push(`source:      ${r.source.name}@${r.source.digest ?? '?'}`);
  for (const c of r.checks) out.push(`  ${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
  if (r.slsaLevel !== undefined) {
    out.push(
      `SLSA Build level: ${r.slsaLevel}${r.verification?.levelReason ? ` (${r.verification.levelReason})` : ''}`,
    );
  }
  if (r.plan) {
    const p = r.plan;
    out.push(
      `plan: ${counts(p)}` +
        (p.destination
          ? `\n  already at destination: ${counts(p.destination.present)}\n  to copy:                ${counts(p.destination.missing)}`
          : ''),
    );
  }
  if (r.destination.digest && r.decision === 'ALLOW') {
    out.push(
      `destination: ${r.destination.name}${r.destination.tag ? `:${r.destination.tag}` : ''}@${r.destination.digest}`,
    );
  }
  if (r.vsa)
    out.push(`VSA:         ${r.vsa.bundleDigest} (referrer ${r.vsa.referrer}, signed by ${r.vsa.signer})`);
  const verb =
    r.decision === 'ALLOW' ? (r.dryRun ? 'ALLOW (dry run, nothing written)' : 'ALLOW') : 'DENY — refused';
  out.push(`decision:    ${verb}: ${r.reason}`);
  return out.join('\n');
}

/** One self-overwriting progress line on a terminal (stderr), cleared before each step line. */
function ttyProgress(): { update: (p: CopyProgress) => void; clear: () => void } {
  let shown = false;
  const started = Date.now();
  return {
    update(p) {
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      const mib = p.bytes / (1024 * 1024);
      process.stderr.write(
        `\r  copy: ${p.phase} ${p.blobsDone}/${p.blobsTotal} blobs, ${mib.toFixed(1)} MiB, ${(mib / secs).toFixed(1)} MiB/s\x1b[K`,
      );
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

function counts(c: PlanCounts): string {
  return `${c.manifests} manifests, ${c.referrers} referrers, ${c.blobs} blobs, ${c.bytes} bytes`;
}
