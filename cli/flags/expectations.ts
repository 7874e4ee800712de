/**
 * Expectation flags shared by the verify commands, in slsa-verifier's vocabulary. Without
 * --policy they form an in-memory policy; with it they add to the policy's expectations.
 */
import { Flags } from '@oclif/core';
import { badInput } from '../../src/errors.js';
import type { SlsaLevel } from '../../src/policy/index.js';
import type { Expectations } from '../../src/verify/index.js';

export const expectationFlags = {
  'source-uri': Flags.string({
    description: 'Expected source repository, e.g. github.com/acme/widget.',
    helpGroup: 'EXPECTATIONS',
  }),
  'source-branch': Flags.string({
    description: 'Expected source branch (ref refs/heads/BRANCH).',
    helpGroup: 'EXPECTATIONS',
  }),
  'source-tag': Flags.string({
    description: 'Expected source tag, exactly (ref refs/tags/TAG).',
    helpGroup: 'EXPECTATIONS',
  }),
  'source-versioned-tag': Flags.string({
    description: 'Expected semver tag prefix: v1 matches v1.x.y, v1.2 matches v1.2.y.',
    helpGroup: 'EXPECTATIONS',
  }),
  'builder-id': Flags.string({
    description:
      'Expected builder id; without @REF any ref of it matches. Without --policy it is the builder you trust (up to level 3).',
    helpGroup: 'EXPECTATIONS',
  }),
  'predicate-type': Flags.string({
    description: 'Require a verified attestation of this predicate type (repeatable).',
    multiple: true,
    helpGroup: 'EXPECTATIONS',
  }),
  'min-slsa-level': Flags.integer({
    description: 'Fail below this SLSA Build level (0-3).',
    min: 0,
    max: 3,
    helpGroup: 'EXPECTATIONS',
  }),
  policy: Flags.string({
    description: 'Policy file (YAML or JSON); see docs/policy.md.',
    helpGroup: 'EXPECTATIONS',
  }),
  'decision-log': Flags.string({
    description: 'Append one ALLOW/DENY decision record (JSON line) per subject to this file.',
  }),
};

export interface ExpectationFlagValues {
  'source-uri'?: string;
  'source-branch'?: string;
  'source-tag'?: string;
  'source-versioned-tag'?: string;
  'builder-id'?: string;
  'predicate-type'?: string[];
  'min-slsa-level'?: number;
}

export function expectationsFromFlags(f: ExpectationFlagValues): Expectations {
  const refs = (['source-branch', 'source-tag', 'source-versioned-tag'] as const).filter(
    (k) => f[k] !== undefined,
  );
  if (refs.length > 1) {
    throw badInput(
      'EXPECTATION_CONFLICT',
      `--${refs.join(' and --')} contradict: a ref is one branch or one tag`,
      'give only one of them',
    );
  }
  if (f['source-versioned-tag'] !== undefined && !/^v?\d+(\.\d+){0,2}$/.test(f['source-versioned-tag'])) {
    throw badInput(
      'EXPECTATION_INVALID',
      `--source-versioned-tag ${f['source-versioned-tag']} is not a semver prefix`,
      'e.g. v1, v1.2 or v1.2.3',
    );
  }
  const exp: Expectations = {};
  const source: NonNullable<Expectations['source']> = {};
  if (f['source-uri']) source.uri = f['source-uri'];
  if (f['source-branch']) source.branches = [f['source-branch']];
  if (f['source-tag']) source.tags = [f['source-tag']];
  if (f['source-versioned-tag']) source.versionedTag = f['source-versioned-tag'];
  if (Object.keys(source).length > 0) exp.source = source;
  if (f['builder-id']) exp.builderId = f['builder-id'];
  if (f['predicate-type']?.length) exp.predicateTypes = f['predicate-type'];
  if (f['min-slsa-level'] !== undefined) exp.minSlsaLevel = f['min-slsa-level'] as SlsaLevel;
  return exp;
}
