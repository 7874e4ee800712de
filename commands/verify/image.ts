import { Args } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { expectationFlags } from '../../cli/flags/expectations.js';
import { registryFlags, registryOptions } from '../../cli/flags/registry.js';
import { trustFlags } from '../../cli/flags/trust.js';
import { renderVerdicts, summaryLine } from '../../cli/verdict.js';
import { logDecisions, planFromFlags } from '../../cli/verify-run.js';
import { openStore, parseReference } from '../../src/oci/index.js';
import { verifyImageWithPlan, type VerdictWithInputs } from '../../src/verify/index.js';

export default class VerifyImage extends VouchCommand {
  static override summary = 'Verify images: their signatures, attestations, SLSA level and policy.';
  static override description = `Each REF is resolved to a digest once; the Sigstore bundles attached to that digest as OCI referrers (cosign v3 / GitHub attest layout) are verified against it, then the policy or expectation flags are evaluated: required predicate types, SLSA Build level (from trusted builders and signers, or a trusted verifier's VSA), source repository/branch/tag, builder id, vulnerability thresholds. Zero matching attestations is a failure.

Several REFs are verified concurrently. Exit 0 when all verify, 1 when any is rejected, 2 for bad input (including no stated trust), 3 for registry errors.`;
  static override examples = [
    '<%= config.bin %> verify image ghcr.io/acme/app:1.4.0 --policy policy.yaml',
    '<%= config.bin %> verify image 127.0.0.1:5000/demo/app:v1 --key vouch.pub --predicate-type https://slsa.dev/provenance/v1 --plain-http',
    '<%= config.bin %> verify image oci:./layout:v1 --certificate-identity-regexp "https://github.com/acme/.*" --certificate-oidc-issuer https://token.actions.githubusercontent.com --min-slsa-level 2 --json',
  ];
  static override strict = false;
  static override args = {
    ref: Args.string({
      description: 'Image: REGISTRY/REPO[:TAG|@DIGEST] or oci:PATH[:TAG|@DIGEST] (several may be given).',
      required: true,
    }),
  };
  static override flags = { ...trustFlags, ...expectationFlags, ...registryFlags };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(VerifyImage);
    const refs = (argv as string[]).map((r) => ({ input: r, ref: parseReference(r) }));
    const plan = await planFromFlags(flags);
    const registry = await registryOptions(flags);
    const verdicts: VerdictWithInputs[] = await Promise.all(
      refs.map(async ({ input, ref }) => {
        const store = await openStore(ref, registry);
        const subject = await store.resolve(ref.digest ?? ref.tag ?? 'latest');
        if (!ref.digest) this.note(`resolved ${input} to ${subject.digest}`);
        return verifyImageWithPlan(store, subject, plan);
      }),
    );
    await logDecisions(flags['decision-log'], verdicts, plan);
    this.render(verdicts.length === 1 ? verdicts[0]! : verdicts, () => renderVerdicts(verdicts));
    this.note(summaryLine(verdicts));
    this.setExit(verdicts.every((v) => v.ok) ? 0 : 1);
  }
}
