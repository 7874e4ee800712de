/**
 * The in-toto Statement cosign v3 signs for an image: predicate type
 * https://sigstore.dev/cosign/sign/v1 with an empty predicate, subject = the image digest.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { badInput } from '../errors.js';
import { INTOTO_STATEMENT_V1, sha256File, signStatement, type SignResult } from './sign.js';
import type { SignerSpec } from './signer.js';

export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

export interface StatementSubject {
  name: string;
  digest: Record<string, string>;
}

export interface Statement {
  _type: typeof INTOTO_STATEMENT_V1;
  subject: StatementSubject[];
  predicateType: string;
  predicate: Record<string, unknown>;
}

/** `{name, digest:{sha256}}` for `sha256:<hex>`; other algorithms are bad input. */
export function digestSubject(name: string, digest: string): StatementSubject {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m || (m[1] === 'sha256' && m[2]!.length !== 64) || (m[1] === 'sha512' && m[2]!.length !== 128)) {
    throw badInput('BAD_DIGEST', `invalid digest ${JSON.stringify(digest)}`);
  }
  return { name, digest: { [m[1]!]: m[2]! } };
}

export function statement(
  subjects: StatementSubject[],
  predicateType: string,
  predicate: unknown,
): Statement {
  checkPredicateType(predicateType);
  if (!predicate || typeof predicate !== 'object' || Array.isArray(predicate)) {
    throw badInput('PREDICATE', 'the predicate must be a JSON object');
  }
  return {
    _type: INTOTO_STATEMENT_V1,
    subject: subjects,
    predicateType,
    predicate: predicate as Record<string, unknown>,
  };
}

/** cosign v3's image signature statement: subject name = repository, digest = manifest digest. */
export function imageSignatureStatement(repository: string, digest: string): Statement {
  return statement([digestSubject(repository, digest)], COSIGN_SIGN_PREDICATE_TYPE, {});
}

/** Reads a predicate file: a JSON object. The type must be an absolute URI. */
export async function readPredicate(file: string, predicateType: string): Promise<Record<string, unknown>> {
  checkPredicateType(predicateType);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw badInput(
      'PREDICATE_FILE',
      `cannot read predicate ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw badInput('PREDICATE_JSON', `predicate ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw badInput('PREDICATE_JSON', `predicate ${file} must hold a JSON object`);
  }
  return json as Record<string, unknown>;
}

export function checkPredicateType(predicateType: string): void {
  let ok = false;
  try {
    const u = new URL(predicateType);
    ok = /^[a-z][a-z0-9+.-]*:$/.test(u.protocol) && predicateType.length <= 1024;
  } catch {
    ok = false;
  }
  if (!ok) {
    throw badInput(
      'PREDICATE_TYPE',
      `predicate type ${JSON.stringify(predicateType)} is not an absolute URI`,
      'e.g. https://slsa.dev/provenance/v1',
    );
  }
}

/**
 * A short name for a predicate type, used in default bundle file names: the last path segment
 * that is not a version (`https://slsa.dev/provenance/v1` → `provenance`).
 */
export function predicateShortName(predicateType: string): string {
  let segments: string[];
  try {
    const u = new URL(predicateType);
    segments = [u.hostname, ...u.pathname.split('/')];
  } catch {
    segments = predicateType.split(/[/:]/);
  }
  const named = segments.filter((s) => s && !/^v?\d+(\.\d+)*$/i.test(s));
  const last = (named[named.length - 1] ?? 'attestation').toLowerCase().replace(/[^a-z0-9_-]+/g, '-');
  return last.replace(/^-+|-+$/g, '') || 'attestation';
}

/** Default bundle path of an attestation about a file: FILE.<predicate short name>.sigstore.json. */
export function attestationBundlePath(file: string, predicateType: string): string {
  return `${file}.${predicateShortName(predicateType)}.sigstore.json`;
}

/** `file` when `subject` names an existing regular file, else `image` (parsed as a reference). */
export async function subjectKind(subject: string): Promise<'file' | 'image'> {
  if (subject.startsWith('oci:')) return 'image';
  try {
    return (await stat(subject)).isFile() ? 'file' : 'image';
  } catch {
    return 'image';
  }
}

/** Signs a statement about a file: subject name = base name, digest = streamed sha256. */
export async function attestFile(
  file: string,
  predicateType: string,
  predicate: unknown,
  spec: SignerSpec,
): Promise<SignResult & { sha256: string }> {
  const sha256 = (await sha256File(file)).toString('hex');
  const st = statement([{ name: path.basename(file), digest: { sha256 } }], predicateType, predicate);
  return { ...(await signStatement(st, spec)), sha256 };
}
