/**
 * Loading a policy file (YAML or JSON — YAML is a superset, one parser reads both), and
 * building in-memory policies from command-line expectations.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { badInput, toVouchError, VouchError } from '../errors.js';
import type { KeyRef, LoadedPolicy, Policy } from './types.js';
import { validatePolicy } from './validate.js';

/** A policy file is configuration, not data: anything larger is a mistake or an attack. */
const MAX_POLICY_BYTES = 1024 * 1024;

export async function loadPolicy(file: string): Promise<LoadedPolicy> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const ve = toVouchError(e);
    throw badInput(
      'POLICY_UNREADABLE',
      `cannot read policy ${file}: ${ve.message}`,
      'check the --policy path',
      e,
    );
  }
  if (bytes.length > MAX_POLICY_BYTES) {
    throw badInput('POLICY_TOO_LARGE', `policy ${file} is ${bytes.length} bytes (limit ${MAX_POLICY_BYTES})`);
  }
  const doc = parsePolicyText(bytes.toString('utf8'), file);
  const abs = path.resolve(file);
  return policyFromDocument(doc, {
    uri: pathToFileURL(abs).href,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    baseDir: path.dirname(abs),
    label: file,
  });
}

export function parsePolicyText(text: string, label: string): unknown {
  try {
    // uniqueKeys: a policy with a key given twice is ambiguous; refuse it.
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw badInput('POLICY_SYNTAX', `policy ${label} is not valid YAML or JSON: ${msg}`, 'fix the syntax', e);
  }
}

/** Validates a parsed document and wraps it as a LoadedPolicy; any problem is exit 2. */
export function policyFromDocument(
  doc: unknown,
  from: { uri: string; sha256?: string; baseDir: string; label?: string },
): LoadedPolicy {
  const all = validatePolicy(doc);
  const problems = all.filter((p) => p.severity !== 'warning');
  if (problems.length > 0) {
    const first = problems[0]!;
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
        : '';
    throw new VouchError(
      'POLICY_INVALID',
      `policy ${from.label ?? from.uri} is invalid: ${first.path}: ${first.message}${more}`,
      {
        exitCode: 2,
        hint: `run: vouch policy validate ${from.label ?? from.uri}`,
        details: { problems },
      },
    );
  }
  const sha256 = from.sha256 ?? createHash('sha256').update(JSON.stringify(doc)).digest('hex');
  const warnings = all.filter((p) => p.severity === 'warning').map((p) => `${p.path}: ${p.message}`);
  return {
    policy: doc as Policy,
    uri: from.uri,
    sha256,
    baseDir: from.baseDir,
    ...(warnings.length ? { warnings } : {}),
  };
}

/** Resolves a policy key reference (path relative to the policy's directory, or inline PEM). */
export async function resolvePolicyKey(ref: KeyRef, baseDir: string): Promise<KeyObject> {
  let pem: string;
  let where: string;
  if (ref.publicKey) {
    pem = ref.publicKey;
    where = 'inline publicKey';
  } else if (ref.path) {
    where = path.resolve(baseDir, ref.path);
    try {
      pem = await readFile(where, 'utf8');
    } catch (e) {
      throw badInput(
        'POLICY_KEY_UNREADABLE',
        `cannot read policy key ${where}: ${toVouchError(e).message}`,
        'key paths are relative to the policy file',
        e,
      );
    }
  } else {
    throw badInput('POLICY_KEY_MISSING', 'policy key has neither path nor publicKey');
  }
  if (/PRIVATE KEY/.test(pem)) {
    throw badInput(
      'POLICY_KEY_PRIVATE',
      `policy key ${where} is a private key`,
      'reference the public key (vouch.pub), never the private key',
    );
  }
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (key.type !== 'public') throw new Error('not a public key');
    return key;
  } catch (e) {
    throw badInput('POLICY_KEY_INVALID', `policy key ${where} is not a PEM public key`, undefined, e);
  }
}
