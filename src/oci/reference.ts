/**
 * Image references: the Docker reference grammar (with Docker Hub normalization) and
 * `oci:PATH[:TAG|@DIGEST]` for OCI image layout directories.
 */
import path from 'node:path';
import { badInput } from '../errors.js';
import type { LayoutReference, Reference, RegistryReference } from './types.js';

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API host: `docker.io` is a name, not a server. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$/;
const HOSTNAME_RE =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6_RE = /^\[[a-fA-F0-9:.]+\]$/;
const MAX_NAME = 255;

const HINT =
  'use HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], NAME[:TAG] for Docker Hub, or oci:PATH[:TAG|@DIGEST]';

function invalid(input: string, what: string): never {
  const shown = input.length > 200 ? input.slice(0, 197) + '…' : input;
  throw badInput('BAD_REFERENCE', `invalid reference "${shown}": ${what}`, HINT);
}

/** Parses and normalizes a reference; malformed input → bad input (exit 2). */
export function parseReference(input: string): Reference {
  if (typeof input !== 'string' || input.length === 0) invalid(String(input ?? ''), 'empty reference');
  if (/\s/.test(input)) invalid(input, 'contains whitespace');
  if (input.startsWith('oci:')) return parseLayout(input);
  return parseRegistry(input);
}

/** Like parseReference, but refuses layout references. */
export function parseRegistryReference(input: string): RegistryReference {
  const ref = parseReference(input);
  if (ref.kind !== 'registry') invalid(input, 'expected a registry reference, not an OCI layout');
  return ref;
}

function parseLayout(input: string): LayoutReference {
  let rest = input.slice('oci:'.length);
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0 && at > rest.lastIndexOf('/')) {
    digest = rest.slice(at + 1);
    if (!DIGEST_RE.test(digest))
      invalid(input, `bad digest "${digest}" (expected sha256:<64 hex> or sha512:<128 hex>)`);
    rest = rest.slice(0, at);
  }
  // A path may contain ':' in a directory name; only a ':' in the last segment separates a tag.
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    if (!TAG_RE.test(tag))
      invalid(
        input,
        `bad tag "${tag}" (allowed: letters, digits, _ . -, up to 128, not starting with . or -)`,
      );
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0) invalid(input, 'missing layout path after "oci:"');
  return { kind: 'layout', path: path.resolve(rest), ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function parseRegistry(input: string): RegistryReference {
  let rest = input;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    if (!DIGEST_RE.test(digest))
      invalid(input, `bad digest "${digest}" (expected sha256:<64 hex> or sha512:<128 hex>)`);
    rest = rest.slice(0, at);
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  // A ':' after the last '/' is the tag separator; before it, it belongs to host:port.
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!TAG_RE.test(tag))
      invalid(
        input,
        `bad tag "${tag}" (allowed: letters, digits, _ . -, up to 128, not starting with . or -)`,
      );
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0) invalid(input, 'missing repository name');

  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (
    slash >= 0 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.startsWith('[') ||
      first !== first.toLowerCase())
  ) {
    registry = normalizeHost(first, input);
    repository = rest.slice(slash + 1);
  } else {
    registry = DOCKER_HUB;
    repository = rest;
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.length === 0) invalid(input, 'missing repository name');
  for (const component of repository.split('/')) {
    if (component.length === 0) invalid(input, 'empty path component in repository name');
    if (!COMPONENT_RE.test(component)) {
      if (component !== component.toLowerCase() && COMPONENT_RE.test(component.toLowerCase())) {
        invalid(input, `repository name must be lowercase ("${component}")`);
      }
      invalid(
        input,
        `bad repository path component "${component}" (allowed: a-z 0-9 separated by . _ __ or -)`,
      );
    }
  }
  if (registry.length + 1 + repository.length > MAX_NAME)
    invalid(input, `name longer than ${MAX_NAME} characters`);
  return { kind: 'registry', registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

function normalizeHost(hostPort: string, input: string): string {
  let host: string;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    if (end < 0) invalid(input, `bad IPv6 host "${hostPort}"`);
    host = hostPort.slice(0, end + 1);
    const after = hostPort.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) invalid(input, `bad registry host "${hostPort}"`);
      port = after.slice(1);
    }
    if (!IPV6_RE.test(host)) invalid(input, `bad IPv6 host "${host}"`);
  } else {
    const c = hostPort.indexOf(':');
    host = c >= 0 ? hostPort.slice(0, c) : hostPort;
    port = c >= 0 ? hostPort.slice(c + 1) : undefined;
    if (!HOSTNAME_RE.test(host)) invalid(input, `bad registry host "${host}"`);
  }
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) invalid(input, `bad port "${port}"`);
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
    invalid(input, `port out of range "${port}"`);
  const canonical = host.toLowerCase() + (port !== undefined ? `:${port}` : '');
  return DOCKER_HUB_ALIASES.has(canonical) ? DOCKER_HUB : canonical;
}

/** The canonical text form: `host/repo[:tag][@digest]` or `oci:/abs/path[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  const suffix = (ref.tag ? `:${ref.tag}` : '') + (ref.digest ? `@${ref.digest}` : '');
  return repositoryName(ref) + suffix;
}

/** The repository (or layout) without tag or digest, e.g. `127.0.0.1:5000/demo/app`. */
export function repositoryName(ref: Reference): string {
  return ref.kind === 'registry' ? `${ref.registry}/${ref.repository}` : `oci:${ref.path}`;
}

/** The same reference pinned to `digest` (the tag is kept for display; the digest wins on reads). */
export function withDigest<T extends Reference>(ref: T, digest: string): T {
  if (!DIGEST_RE.test(digest)) invalid(digest, 'bad digest (expected sha256:<64 hex> or sha512:<128 hex>)');
  return { ...ref, digest };
}

/** The same repository at `tag`; the digest is dropped, since it would override the tag. */
export function withTag<T extends Reference>(ref: T, tag: string): T {
  if (!TAG_RE.test(tag))
    invalid(tag, 'bad tag (allowed: letters, digits, _ . -, up to 128, not starting with . or -)');
  const { digest: _digest, ...rest } = ref;
  return { ...rest, tag } as T;
}

/** True for a valid tag per the distribution grammar. */
export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

/** The host:port the registry API is served on (`docker.io` → `registry-1.docker.io`). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}
