/**
 * Registry/repository allowlist patterns of a policy's `promotion.sources` and
 * `promotion.destinations`.
 *
 * A pattern names repositories, never tags or digests:
 * - registry patterns are matched against `registry/repository` of the canonical reference
 *   (`127.0.0.1:5000/staging/app`, `docker.io/library/alpine`);
 * - layout patterns start with `oci:` and are matched against `oci:/absolute/path` of a layout
 *   (a relative `oci:` pattern is resolved against the policy file's directory, so a policy
 *   means the same thing from any working directory);
 * - `*` matches within one path segment, `**` matches across segments (`a/**` matches every
 *   repository below `a`, `a/**\/b` also matches `a/b`); every other character is literal.
 * A registry pattern never matches a layout and the other way round, whatever the strings.
 */
import path from 'node:path';
import { badInput } from '../errors.js';
import type { Reference } from '../oci/index.js';

export interface CompiledPattern {
  pattern: string;
  kind: 'registry' | 'layout';
  regex: RegExp;
}

/** `registry/repository` of a registry reference, `oci:/abs/path` of a layout (no tag, no digest). */
export function locationName(ref: Reference): string {
  return ref.kind === 'layout' ? `oci:${ref.path}` : `${ref.registry}/${ref.repository}`;
}

/** Compiles one pattern; a malformed pattern is bad input (exit 2), never "matches nothing silently". */
export function compilePattern(pattern: string, baseDir?: string): CompiledPattern {
  const p = pattern.trim();
  if (!p) throw invalid(pattern, 'empty pattern');
  if (p.includes('@')) throw invalid(pattern, 'a pattern names repositories, not digests');
  if (p.startsWith('oci:')) {
    let dir = p.slice('oci:'.length);
    if (!dir) throw invalid(pattern, 'no layout path after "oci:"');
    if (!path.isAbsolute(dir)) {
      if (!baseDir)
        throw invalid(pattern, 'relative layout path and no policy directory to resolve it against');
      dir = path.join(baseDir, dir);
    }
    // Normalizes `.`/`..` and trailing slashes the way layout references are normalized.
    dir = path.resolve(dir);
    return { pattern, kind: 'layout', regex: globToRegex(`oci:${dir}`) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) throw invalid(pattern, 'no URL scheme: write HOST/REPOSITORY');
  const lastSegment = p.slice(p.lastIndexOf('/') + 1);
  if (!p.includes('/')) throw invalid(pattern, 'expected REGISTRY/REPOSITORY (e.g. ghcr.io/acme/*)');
  if (lastSegment.includes(':')) throw invalid(pattern, 'a pattern names repositories, not tags');
  return { pattern, kind: 'registry', regex: globToRegex(p) };
}

/** The first pattern that matches `ref`, or undefined. */
export function findMatch(patterns: readonly string[], ref: Reference, baseDir?: string): string | undefined {
  const name = locationName(ref);
  for (const pattern of patterns) {
    const c = compilePattern(pattern, baseDir);
    if (c.kind === ref.kind && c.regex.test(name)) return pattern;
  }
  return undefined;
}

export function matchesPattern(pattern: string, ref: Reference, baseDir?: string): boolean {
  return findMatch([pattern], ref, baseDir) !== undefined;
}

function globToRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length;) {
    if (glob.startsWith('/**/', i)) {
      re += '/(?:.+/)?';
      i += 4;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 2;
    } else if (glob[i] === '*') {
      re += '[^/]*';
      i += 1;
    } else {
      re += escapeRegex(glob[i] as string);
      i += 1;
    }
  }
  return new RegExp(`^${re}$`);
}

function escapeRegex(c: string): string {
  return /[\\^$.|?*+()[\]{}]/.test(c) ? `\\${c}` : c;
}

function invalid(pattern: string, what: string) {
  return badInput(
    'BAD_PROMOTION_PATTERN',
    `invalid promotion pattern "${pattern}": ${what}`,
    'use REGISTRY/REPOSITORY with * (one segment) or ** (any depth), or oci:/path for a layout',
  );
}
