import { Flags } from '@oclif/core';
import { stringify } from 'yaml';
import { VouchCommand } from '../../cli/base.js';
import { writeOutputFile } from '../../src/files.js';
import { badInput } from '../../src/errors.js';
import { access } from 'node:fs/promises';
import { describePolicy, policyInit, policyWarnings, type Severity } from '../../src/policy/index.js';

export default class PolicyInit extends VouchCommand {
  static override summary = 'Write a starter policy from a few flags.';
  static override description = `Creates a policy (YAML) that trusts one signer — a public key (--key) or a keyless identity (--certificate-identity[-regexp] + --certificate-oidc-issuer) — and optionally trusted builders with their maximum SLSA Build level (--builder-id/--builder-level pairs, matched by order), source expectations, a minimum level, a vulnerability threshold and promotion allowlists.

The key is referenced by path, relative to the directory of --out (absolute when printing to stdout); keep the key next to the policy when moving it. The result is validated like any policy: a contradictory one (e.g. --key with --certificate-identity) is refused (exit 2); one that can never allow anything (e.g. --min-slsa-level 3 with no level-3 builder) is written with a warning, and every verification under it is rejected. See docs/policy.md for every field.`;
  static override examples = [
    '<%= config.bin %> policy init --key vouch.pub --builder-id https://github.com/actions/runner/github-hosted --builder-level 2 --min-slsa-level 2 --out policy.yaml',
    '<%= config.bin %> policy init --certificate-identity-regexp "https://github.com/acme/.*" --certificate-oidc-issuer https://token.actions.githubusercontent.com --source-uri github.com/acme/app --source-branch main',
    '<%= config.bin %> policy init --key vouch.pub --builder-id https://builder.example/hosted@v1 --builder-level 3 --min-slsa-level 3 --promote-from "reg.example/staging/*" --promote-to "reg.example/prod/*" --out policy.yaml',
  ];
  static override flags = {
    key: Flags.string({ description: 'Public key (PEM) of the trusted signer.' }),
    'certificate-identity': Flags.string({
      description: 'Exact keyless signer identity (certificate SAN).',
      exclusive: ['certificate-identity-regexp'],
    }),
    'certificate-identity-regexp': Flags.string({
      description: 'Keyless signer identity regexp (anchored).',
    }),
    'certificate-oidc-issuer': Flags.string({
      description: 'Exact OIDC issuer of the signer.',
      exclusive: ['certificate-oidc-issuer-regexp'],
    }),
    'certificate-oidc-issuer-regexp': Flags.string({ description: 'OIDC issuer regexp (anchored).' }),
    'builder-id': Flags.string({
      description: 'Trusted builder id (repeatable; without @REF any ref matches).',
      multiple: true,
    }),
    'builder-level': Flags.integer({
      description: 'Max SLSA Build level of the builder at the same position (repeatable).',
      multiple: true,
      min: 0,
      max: 3,
    }),
    'source-uri': Flags.string({ description: 'Expected source repository, e.g. github.com/acme/app.' }),
    'source-branch': Flags.string({ description: 'Expected source branch.', exclusive: ['source-tag'] }),
    'source-tag': Flags.string({ description: 'Expected source tag.' }),
    'min-slsa-level': Flags.integer({ description: 'Minimum SLSA Build level (0-3).', min: 0, max: 3 }),
    'max-severity': Flags.string({
      description: 'Highest vulnerability severity allowed.',
      options: ['critical', 'high', 'medium', 'low'],
    }),
    'predicate-type': Flags.string({
      description: 'Required attestation predicate type (repeatable).',
      multiple: true,
    }),
    'promote-from': Flags.string({
      description: 'Allowed promotion source pattern (repeatable; * within a segment, ** across).',
      multiple: true,
    }),
    'promote-to': Flags.string({
      description: 'Allowed promotion destination pattern (repeatable).',
      multiple: true,
    }),
    out: Flags.string({
      description: 'Write the policy here (refuses to overwrite unless --force); default stdout.',
    }),
    force: Flags.boolean({ description: 'Overwrite --out if it exists.', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(PolicyInit);
    const policy = policyInit({
      key: flags.key,
      certificateIdentity: flags['certificate-identity'],
      certificateIdentityRegexp: flags['certificate-identity-regexp'],
      certificateOidcIssuer: flags['certificate-oidc-issuer'],
      certificateOidcIssuerRegexp: flags['certificate-oidc-issuer-regexp'],
      builderIds: flags['builder-id'],
      builderLevels: flags['builder-level'],
      sourceUri: flags['source-uri'],
      sourceBranch: flags['source-branch'],
      sourceTag: flags['source-tag'],
      minSlsaLevel: flags['min-slsa-level'],
      maxSeverity: flags['max-severity'] as Severity | undefined,
      predicateTypes: flags['predicate-type'],
      promoteFrom: flags['promote-from'],
      promoteTo: flags['promote-to'],
      out: flags.out,
    });
    if (flags.key) {
      try {
        await access(flags.key);
      } catch {
        throw badInput(
          'KEY_NOT_FOUND',
          `no such key file: ${flags.key}`,
          'pass the public key written by vouch keys generate (vouch.pub)',
        );
      }
    }
    for (const w of policyWarnings(policy)) process.stderr.write(`warning: ${w}\n`);
    const text = `# vouch policy — see docs/policy.md\n${stringify(policy)}`;
    if (flags.out) {
      if (!flags.force) {
        const exists = await access(flags.out).then(
          () => true,
          () => false,
        );
        if (exists)
          throw badInput('POLICY_EXISTS', `${flags.out} already exists`, 'pass --force to overwrite it');
      }
      await writeOutputFile(flags.out, text);
      if (this.json) this.render({ path: flags.out, policy }, () => '');
      this.note(`wrote ${flags.out}`);
      for (const line of describePolicy(policy)) this.note(`  ${line}`);
    } else {
      this.render(policy, () => text);
    }
  }
}
