import { Args, Flags } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { expectationFlags } from '../../cli/flags/expectations.js';
import { trustFlags } from '../../cli/flags/trust.js';
import { renderVerdicts, summaryLine } from '../../cli/verdict.js';
import { logDecisions, planFromFlags } from '../../cli/verify-run.js';
import { badInput } from '../../src/errors.js';
import { verifyBlobs } from '../../src/verify/index.js';

export default class VerifyFunction extends VouchCommand {
  static override summary = 'Verify function packages (or any files) against their Sigstore bundles.';
  static override description = `Each FILE is hashed by streaming and verified against FILE.sigstore.json (or --bundle for a single file): the signature, the certificate chain and identity or the key, transparency-log entries and timestamps, and that the bundle's message digest or in-toto subject is this file's digest. Expectation flags and --policy add SLSA and source checks.

Verifying needs a stated trust: --certificate-identity with --certificate-oidc-issuer, --key, or a --policy; without one vouch refuses (exit 2). Exit 0 when every file verifies, 1 when any is rejected, 2 for bad input, 3 for I/O errors.`;
  static override examples = [
    '<%= config.bin %> verify function dist/fn.zip --key vouch.pub',
    '<%= config.bin %> verify function fn.zip --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main --certificate-oidc-issuer https://token.actions.githubusercontent.com',
    '<%= config.bin %> verify function a.zip b.zip --policy policy.yaml --json',
  ];
  static override strict = false;
  static override args = {
    file: Args.string({
      description: 'Function package or file to verify (several may be given).',
      required: true,
    }),
  };
  static override flags = {
    bundle: Flags.string({ description: 'Bundle file (only with one FILE); default FILE.sigstore.json.' }),
    ...trustFlags,
    ...expectationFlags,
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(VerifyFunction);
    const files = argv as string[];
    if (flags.bundle && files.length > 1) {
      throw badInput(
        'USAGE',
        '--bundle names one bundle but several files were given',
        'verify each file with its own FILE.sigstore.json, or one at a time',
      );
    }
    const plan = await planFromFlags(flags);
    const items = files.map((f) => ({
      artifact: f,
      bundle: flags.bundle ?? `${f}.sigstore.json`,
      defaultBundle: !flags.bundle,
    }));
    const verdicts = await verifyBlobs(items, plan);
    await logDecisions(flags['decision-log'], verdicts, plan);
    this.render(verdicts.length === 1 ? verdicts[0]! : verdicts, () => renderVerdicts(verdicts));
    this.note(summaryLine(verdicts));
    this.setExit(verdicts.every((v) => v.ok) ? 0 : 1);
  }
}
