import { Args } from '@oclif/core';
import { VouchCommand } from '../../cli/base.js';
import { VouchError } from '../../src/errors.js';
import { describePolicy, loadPolicy, resolvePolicyKey, type PolicyProblem } from '../../src/policy/index.js';

export default class PolicyValidate extends VouchCommand {
  static override summary = 'Check a policy file and say in plain words what it allows.';
  static override description = `Validates FILE (YAML or JSON) against schemas/policy.schema.json and for contradictions the schema cannot express: no signers, a signer with both identity and key, exact and regexp for the same field, builders naming unknown signers, a minimum level no builder can reach, a ref that is both a branch and a tag. Key files must be readable public keys. Exit 0 when valid (the description is printed), 2 with every problem listed otherwise.`;
  static override examples = [
    '<%= config.bin %> policy validate policy.yaml',
    '<%= config.bin %> policy validate policy.json --json',
  ];
  static override args = { file: Args.string({ description: 'Policy file.', required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(PolicyValidate);
    let loaded;
    try {
      loaded = await loadPolicy(args.file);
    } catch (e) {
      const problems = (e as VouchError).details?.problems as PolicyProblem[] | undefined;
      if (problems && !this.json)
        for (const p of problems) process.stderr.write(`  ✗ ${p.path}: ${p.message}\n`);
      throw e;
    }
    if (loaded.warnings?.length) {
      if (!this.json) for (const w of loaded.warnings) process.stderr.write(`  ✗ ${w}\n`);
      throw new VouchError(
        'POLICY_UNSATISFIABLE',
        `policy ${args.file} can never allow anything: ${loaded.warnings[0]}`,
        {
          exitCode: 2,
          hint: 'raise a builder maxLevel, lower minSlsaLevel, or list a trusted verifier',
          details: { problems: loaded.warnings },
        },
      );
    }
    const keys = [
      ...loaded.policy.signers,
      ...(loaded.policy.trustedVerifiers ?? []).flatMap((v) => v.signers),
    ].filter((s) => s.key);
    for (const s of keys) await resolvePolicyKey(s.key!, loaded.baseDir);
    const description = describePolicy(loaded.policy);
    this.render({ valid: true, uri: loaded.uri, sha256: loaded.sha256, description }, (d) =>
      d.description.join('\n'),
    );
    this.note(`${args.file} is valid (sha256 ${loaded.sha256})`);
  }
}
