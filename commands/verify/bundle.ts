import { Args } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { expectationFlags } from '../../cli/flags/expectations.js';
import { trustFlags } from '../../cli/flags/trust.js';
import { renderVerdicts, summaryLine } from '../../cli/verdict.js';
import { logDecisions, planFromFlags } from '../../cli/verify-run.js';
import { verifyBlobs } from '../../src/verify/index.js';

export default class VerifyBundle extends VouchCommand {
  static override summary = 'Verify one Sigstore bundle against a file or a digest.';
  static override description = `ARTIFACT is a file path or sha256:HEX. The bundle may be a message signature or a DSSE attestation (e.g. SLSA provenance); either way it must bind this artifact's digest — a provenance for another subject, or a message signature whose digest was swapped, is rejected (exit 1). A malformed bundle is reported and rejected.

Needs a stated trust (--key, --certificate-identity + --certificate-oidc-issuer, or --policy).`;
  static override examples = [
    '<%= config.bin %> verify bundle fn.zip.sigstore.json fn.zip --key vouch.pub',
    '<%= config.bin %> verify bundle provenance.sigstore.json sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 --key vouch.pub --min-slsa-level 1',
  ];
  static override args = {
    bundle: Args.string({ description: 'Sigstore bundle JSON file.', required: true }),
    artifact: Args.string({ description: 'The artifact: a file path or sha256:HEX.', required: true }),
  };
  static override flags = { ...trustFlags, ...expectationFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(VerifyBundle);
    const plan = await planFromFlags(flags);
    const verdicts = await verifyBlobs([{ artifact: args.artifact, bundle: args.bundle }], plan);
    await logDecisions(flags['decision-log'], verdicts, plan);
    this.render(verdicts[0]!, () => renderVerdicts(verdicts));
    this.note(summaryLine(verdicts));
    this.setExit(verdicts[0]!.ok ? 0 : 1);
  }
}
