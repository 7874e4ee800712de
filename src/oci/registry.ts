/**
 * A Store on one repository of an OCI distribution registry. The registry is untrusted:
 * every manifest and blob read is re-hashed against the digest asked for, sizes are capped,
 * and every failure is a VouchError with a code callers can branch on.
 */
import type { Readable } from 'node:stream';
import { ioFailure, isVouchError, VouchError } from '../errors.js';
import { Authenticator, authError, repositoryScope, type AuthContext } from './auth.js';
import {
  assertDigest,
  digestAlgorithm,
  digestMismatch,
  digestOf,
  isDigest,
  verifyBytes,
  verifiedSource,
  verifiesAs,
} from './digest.js';
import { apiHost, isTag, repositoryName } from './reference.js';
import { discard, readBody, Transport, type HttpRequest, type HttpResponse } from './transport.js';
import {
  MANIFEST_MEDIA_TYPES,
  MediaType,
  type Descriptor,
  type FetchedManifest,
  type Manifest,
  type RegistryOptions,
  type RegistryReference,
  type Store,
} from './types.js';

/** Manifests and indexes larger than this are refused (the distribution spec's common limit). */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** A referrers response (per page) larger than this is refused. */
export const REFERRERS_MAX_BYTES = 4 * 1024 * 1024;
/** More referrers than this (over all pages) are refused rather than truncated. */
export const REFERRERS_MAX_ENTRIES = 10_000;
const TAGS_MAX_BYTES = 4 * 1024 * 1024;
const TAGS_MAX_PAGES = 1000;
const ERROR_BODY_MAX = 64 * 1024;

/** Codes of "does not exist" failures, so callers can branch on absence. */
export const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN']);

/** True when `err` says the manifest, blob or repository does not exist. */
export function isNotFound(err: unknown): boolean {
  return isVouchError(err) && NOT_FOUND_CODES.has(err.code);
}

/**
 * Connection state shared by stores of one invocation: one transport (sockets, CA) and one
 * authenticator (credentials resolved once per host, tokens cached per scope).
 */
export class RegistrySession {
  readonly transport: Transport;
  readonly auth: Authenticator;
  constructor(readonly options: RegistryOptions = {}) {
    this.transport = new Transport(options);
    this.auth = new Authenticator(this.transport, options);
  }
  close(): void {
    this.transport.close();
  }
}

/** Opens a store on `ref`'s repository (tag and digest of `ref` are ignored). */
export async function openRegistryStore(
  ref: RegistryReference,
  opts: RegistryOptions = {},
  session?: RegistrySession,
): Promise<RegistryStore> {
  return new RegistryStore(ref, session ?? new RegistrySession(opts));
}

type Kind = 'manifest' | 'blob' | 'repository' | 'upload' | 'referrers';

interface SendRequest extends HttpRequest {
  scopes: string[];
}

export class RegistryStore implements Store {
  readonly location: RegistryReference;
  readonly name: string;
  /** host:port the API is served on. */
  readonly host: string;
  private readonly base: string;
  private readonly ctx: AuthContext;

  constructor(
    ref: RegistryReference,
    readonly session: RegistrySession,
  ) {
    this.location = { kind: 'registry', registry: ref.registry, repository: ref.repository };
    this.name = repositoryName(this.location);
    this.host = apiHost(ref.registry);
    this.base = `${session.transport.scheme}://${this.host}/v2/${ref.repository}`;
    this.ctx = { registry: ref.registry, host: this.host };
  }

  private get pull(): string[] {
    return [repositoryScope(this.location.repository, 'pull')];
  }
  private get push(): string[] {
    return [repositoryScope(this.location.repository, 'pull,push')];
  }

  // ---- manifests ----

  async resolve(reference: string): Promise<Descriptor> {
    return (await this.fetchManifest(reference)).descriptor;
  }

  async fetchManifest(reference: string | Descriptor): Promise<FetchedManifest> {
    const desc = typeof reference === 'string' ? undefined : reference;
    const ref = desc ? assertDigest(desc.digest) : checkTagOrDigest(reference as string);
    const shown = this.show(ref);
    if (desc && desc.size > MANIFEST_MAX_BYTES) {
      throw ioFailure(
        'TOO_LARGE',
        `manifest ${shown} is ${desc.size} bytes, over the ${MANIFEST_MAX_BYTES}-byte limit`,
        'vouch refuses oversized manifests',
      );
    }
    const res = await this.send({
      method: 'GET',
      url: `${this.base}/manifests/${ref}`,
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
      scopes: this.pull,
    });
    if (res.status !== 200) return this.fail(res, 'manifest', shown);
    const bytes = await readBody(res.body, MANIFEST_MAX_BYTES, `manifest ${shown}`);
    let digest: string;
    if (isDigest(ref)) {
      verifyBytes(bytes, ref, this.host);
      digest = ref;
    } else {
      digest = digestOf(bytes, 'sha256');
      const claimed = header(res, 'docker-content-digest');
      if (claimed && isDigest(claimed)) {
        const actual = digestOf(bytes, digestAlgorithm(claimed));
        if (actual !== claimed) throw digestMismatch(claimed, actual, this.host);
      }
    }
    if (desc && bytes.length !== desc.size) {
      throw ioFailure(
        'DIGEST_MISMATCH',
        `${this.host} returned ${bytes.length} bytes for manifest ${shown}, expected ${desc.size}`,
        'the manifest does not match its descriptor; do not trust it',
      );
    }
    const manifest = parseManifest(bytes, shown);
    const contentType = header(res, 'content-type')?.split(';')[0]?.trim();
    const mediaType =
      manifest.mediaType ??
      desc?.mediaType ??
      (contentType && MANIFEST_MEDIA_TYPES.includes(contentType) ? contentType : undefined) ??
      ('manifests' in manifest ? MediaType.ociIndex : MediaType.ociManifest);
    const descriptor: Descriptor = { ...(desc ?? {}), mediaType, digest, size: bytes.length };
    if (!desc && manifest.artifactType) descriptor.artifactType = manifest.artifactType;
    return { descriptor, bytes, manifest };
  }

  async hasManifest(digest: string): Promise<boolean> {
    assertDigest(digest);
    const res = await this.send({
      method: 'HEAD',
      url: `${this.base}/manifests/${digest}`,
      headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') },
      scopes: this.pull,
    });
    discard(res.body);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(res, 'manifest', this.show(digest));
  }

  async pushManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<Descriptor> {
    if (tag !== undefined) checkTagOrDigest(tag);
    if (bytes.length > MANIFEST_MAX_BYTES) {
      throw ioFailure(
        'TOO_LARGE',
        `manifest is ${bytes.length} bytes, over the ${MANIFEST_MAX_BYTES}-byte limit`,
        'registries refuse manifests this large',
      );
    }
    const digest = digestOf(bytes, 'sha256');
    const target = tag ?? digest;
    const res = await this.send({
      method: 'PUT',
      url: `${this.base}/manifests/${target}`,
      headers: { 'content-type': mediaType },
      body: bytes,
      scopes: this.push,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202)
      return this.fail(res, 'manifest', this.show(target));
    discard(res.body);
    const claimed = header(res, 'docker-content-digest');
    if (claimed && isDigest(claimed) && digestAlgorithm(claimed) === 'sha256' && claimed !== digest) {
      throw ioFailure(
        'DIGEST_MISMATCH',
        `${this.host} stored manifest ${this.show(target)} as ${claimed}, but its bytes hash to ${digest}`,
        'the registry altered the manifest; do not use it',
      );
    }
    const descriptor: Descriptor = { mediaType, digest, size: bytes.length };
    const artifactType = peekArtifactType(bytes);
    if (artifactType) descriptor.artifactType = artifactType;
    return descriptor;
  }

  async deleteManifest(digest: string): Promise<void> {
    assertDigest(digest);
    const res = await this.send({
      method: 'DELETE',
      url: `${this.base}/manifests/${digest}`,
      scopes: [repositoryScope(this.location.repository, 'delete')],
    });
    if (res.status !== 202 && res.status !== 200 && res.status !== 204)
      return this.fail(res, 'manifest', this.show(digest));
    discard(res.body);
  }

  // ---- blobs ----

  async hasBlob(digest: string): Promise<boolean> {
    assertDigest(digest);
    const res = await this.send({ method: 'HEAD', url: `${this.base}/blobs/${digest}`, scopes: this.pull });
    discard(res.body);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    return this.fail(res, 'blob', this.show(digest));
  }

  async fetchBlob(desc: Descriptor): Promise<Readable> {
    assertDigest(desc.digest);
    const shown = this.show(desc.digest);
    const res = await this.send({
      method: 'GET',
      url: `${this.base}/blobs/${desc.digest}`,
      scopes: this.pull,
    });
    if (res.status !== 200) return this.fail(res, 'blob', shown);
    const declared = Number(header(res, 'content-length'));
    if (header(res, 'content-length') !== undefined && Number.isFinite(declared) && declared !== desc.size) {
      res.body.destroy();
      throw ioFailure(
        'DIGEST_MISMATCH',
        `${this.host} announced ${declared} bytes for blob ${shown}, expected ${desc.size}`,
        'the blob does not match its descriptor; do not trust it',
      );
    }
    // Nothing flows until the consumer reads; the socket stays paused (backpressure) meanwhile.
    return verifiedSource(res.body, {
      digest: desc.digest,
      size: desc.size,
      source: res.url.host === this.host ? this.host : `${this.host} (via ${res.url.host})`,
      mapError: (err, bytes) =>
        isVouchError(err)
          ? err
          : ioFailure(
              'REGISTRY_UNREACHABLE',
              `connection lost while reading blob ${shown} after ${bytes} of ${desc.size} bytes`,
              'retry; check the network and the registry',
              err,
            ),
    });
  }

  /**
   * Uploads a blob. A Buffer (or a function returning a fresh stream) can be replayed, so a
   * failed upload is restarted from scratch; a plain Readable is sent once and a failure
   * mid-way is final (the caller may retry with a fresh stream). The content is checked
   * against `desc` while it is sent: a mismatch aborts the upload with DIGEST_MISMATCH.
   */
  async pushBlob(desc: Descriptor, content: Readable | Buffer | (() => Readable)): Promise<void> {
    assertDigest(desc.digest);
    if (Buffer.isBuffer(content)) {
      if (content.length !== desc.size) {
        throw ioFailure(
          'DIGEST_MISMATCH',
          `blob content is ${content.length} bytes, descriptor says ${desc.size} for ${desc.digest}`,
          'the content does not match its descriptor',
        );
      }
      verifyBytes(content, desc.digest, 'local content');
    }
    const replayable = Buffer.isBuffer(content) || typeof content === 'function';
    const attempts = replayable ? 2 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const body = typeof content === 'function' ? content() : content;
        await this.uploadOnce(desc, body);
        return;
      } catch (err) {
        const retry = attempt < attempts && isRestartable(err);
        if (!retry) throw err;
      }
    }
  }

  private async uploadOnce(desc: Descriptor, body: Readable | Buffer): Promise<void> {
    const shown = this.show(desc.digest);
    let location: string;
    try {
      location = await this.startUpload();
    } catch (err) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw err;
    }
    try {
      if (Buffer.isBuffer(body)) {
        const res = await this.send({
          method: 'PUT',
          url: withDigestParam(location, desc.digest),
          headers: { 'content-type': 'application/octet-stream' },
          body,
          scopes: this.push,
          followRedirects: false,
        });
        if (res.status !== 201 && res.status !== 204) return await this.fail(res, 'upload', shown);
        discard(res.body);
        return;
      }
      // Checked while sent: a mismatch aborts the PATCH before the registry commits anything.
      // A source that already verifies this digest and size (a blob being copied from another
      // store) is not hashed a second time: hashing is a quarter of a copy's CPU.
      const verifier = verifiesAs(body, desc)
        ? body
        : verifiedSource(body, { digest: desc.digest, size: desc.size, source: 'the blob source' });
      const patch = await this.send({
        method: 'PATCH',
        url: location,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
        body: verifier,
        scopes: this.push,
        followRedirects: false,
        retry: false,
      });
      if (patch.status !== 202 && patch.status !== 204) return await this.fail(patch, 'upload', shown);
      discard(patch.body);
      // Registries hand out a new session URL after each PATCH; the old one is dead.
      location = nextLocation(patch, location);
      const put = await this.send({
        method: 'PUT',
        url: withDigestParam(location, desc.digest),
        scopes: this.push,
        followRedirects: false,
      });
      if (put.status !== 201 && put.status !== 204) return await this.fail(put, 'upload', shown);
      discard(put.body);
    } catch (err) {
      // Stop reading the source (it may hold another registry's socket open).
      if (!Buffer.isBuffer(body)) body.destroy();
      void this.cancelUpload(location);
      throw err;
    }
  }

  /** Opens an upload session; returns its absolute URL. */
  private async startUpload(): Promise<string> {
    const url = `${this.base}/blobs/uploads/`;
    const res = await this.send({ method: 'POST', url, scopes: this.push });
    if (res.status !== 202) return this.fail(res, 'upload', this.name);
    discard(res.body);
    return nextLocation(res, url);
  }

  private async cancelUpload(location: string): Promise<void> {
    try {
      const res = await this.send({ method: 'DELETE', url: location, scopes: this.push, retry: false });
      discard(res.body);
    } catch {
      // Best effort: an abandoned session is purged by the registry.
    }
  }

  async mountBlob(desc: Descriptor, fromRepository: string): Promise<boolean> {
    assertDigest(desc.digest);
    let from = fromRepository;
    const prefix = `${this.location.registry}/`;
    if (from.startsWith(prefix)) from = from.slice(prefix.length);
    else if (from.includes('/') && /[.:]|^localhost$/.test(from.split('/')[0]!)) return false; // another host
    if (from === this.location.repository) return this.hasBlob(desc.digest);
    const url = `${this.base}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`;
    // One token for both repositories: push on the destination, pull on the source.
    const scopes = [repositoryScope(this.location.repository, 'pull,push'), repositoryScope(from, 'pull')];
    let res: HttpResponse;
    try {
      res = await this.send({ method: 'POST', url, scopes });
    } catch (err) {
      // No pull right on the source is "not mounted", not a failure: the caller uploads.
      if (isVouchError(err) && err.code === 'REGISTRY_AUTH') return false;
      throw err;
    }
    if (res.status === 201) {
      discard(res.body);
      return true;
    }
    if (res.status === 202) {
      discard(res.body);
      const loc = header(res, 'location');
      if (loc) await this.cancelUpload(new URL(loc, url).toString());
      return false;
    }
    return this.fail(res, 'upload', this.show(desc.digest));
  }

  // ---- referrers and tags ----

  async referrersApi(subjectDigest: string, artifactType?: string): Promise<Descriptor[] | undefined> {
    assertDigest(subjectDigest);
    let url: string | undefined =
      `${this.base}/referrers/${subjectDigest}` +
      (artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '');
    const out: Descriptor[] = [];
    const what = `referrers of ${this.show(subjectDigest)}`;
    for (let page = 0; url; page++) {
      const res = await this.send({
        method: 'GET',
        url,
        headers: { accept: MediaType.ociIndex },
        scopes: this.pull,
      });
      if (res.status === 404 && page === 0) {
        // No referrers API (the spec requires 200 with an empty index for an unknown subject).
        discard(res.body);
        return undefined;
      }
      if (res.status !== 200) return this.fail(res, 'referrers', what);
      const bytes = await readBody(res.body, REFERRERS_MAX_BYTES, what);
      const index = parseJson(bytes, what) as { manifests?: unknown };
      if (!index || typeof index !== 'object' || !Array.isArray(index.manifests)) {
        throw ioFailure(
          'REFERRERS_INVALID',
          `${this.host} returned a malformed referrers index for ${this.show(subjectDigest)}`,
          'the registry referrers API is broken',
        );
      }
      for (const entry of index.manifests) {
        out.push(checkDescriptor(entry, what, this.host));
        if (out.length > REFERRERS_MAX_ENTRIES) {
          throw ioFailure(
            'TOO_MANY_REFERRERS',
            `${what} has more than ${REFERRERS_MAX_ENTRIES} entries`,
            'vouch refuses unbounded referrer lists; clean up the repository',
          );
        }
      }
      url = nextLink(res);
    }
    // Registries may ignore the filter: apply it here too.
    return artifactType ? out.filter((d) => d.artifactType === artifactType) : out;
  }

  async listTags(): Promise<string[]> {
    let url: string | undefined = `${this.base}/tags/list?n=1000`;
    const tags: string[] = [];
    for (let page = 0; url && page < TAGS_MAX_PAGES; page++) {
      const res = await this.send({
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        scopes: this.pull,
      });
      if (res.status !== 200) return this.fail(res, 'repository', this.name);
      const bytes = await readBody(res.body, TAGS_MAX_BYTES, `tag list of ${this.name}`);
      const body = parseJson(bytes, `tag list of ${this.name}`) as { tags?: unknown };
      const list = body && typeof body === 'object' ? body.tags : undefined;
      if (list !== null && list !== undefined && !Array.isArray(list)) {
        throw ioFailure(
          'REGISTRY_ERROR',
          `${this.host} returned a malformed tag list for ${this.name}`,
          'the registry is misbehaving',
        );
      }
      for (const t of list ?? []) if (typeof t === 'string' && isTag(t)) tags.push(t);
      url = nextLink(res);
    }
    return tags;
  }

  /** Closes idle connections of this store's session. */
  close(): void {
    this.session.close();
  }

  // ---- plumbing ----

  private show(ref: string): string {
    return isDigest(ref) ? `${this.name}@${ref}` : `${this.name}:${ref}`;
  }

  /**
   * Sends with authentication: the cached Authorization for the scopes; on 401, one fresh
   * attempt after answering the challenge; a second 401 or a 403 is REGISTRY_AUTH.
   * Credentials only go to this registry's own host.
   */
  private async send(req: SendRequest): Promise<HttpResponse> {
    const sameHost = new URL(req.url).host === this.host;
    const withAuth = async (): Promise<HttpRequest> => {
      const authz = sameHost ? await this.session.auth.authorization(this.ctx, req.scopes) : undefined;
      return { ...req, headers: { ...(req.headers ?? {}), ...(authz ? { authorization: authz } : {}) } };
    };
    let res = await this.session.transport.request(await withAuth());
    if (res.status === 401 && sameHost) {
      const challenge = res.headers['www-authenticate'];
      const replayable = req.body === undefined || Buffer.isBuffer(req.body);
      if (replayable && (await this.session.auth.onChallenge(this.ctx, challenge, req.scopes))) {
        discard(res.body);
        res = await this.session.transport.request(await withAuth());
      }
    }
    if (res.status === 401 || res.status === 403) {
      const detail = await errorDetail(res);
      throw authError(
        this.host,
        res.status,
        detail,
        await this.session.auth.hasCredentials(this.location.registry),
      );
    }
    return res;
  }

  /** Maps a non-success response to a VouchError (always throws). */
  private async fail(res: HttpResponse, kind: Kind, subject: string): Promise<never> {
    const detail = await errorDetail(res);
    const registryCode = detail?.split(':')[0];
    const suffix = detail ? ` (${detail})` : '';
    const tries = res.attempts > 1 ? ` after ${res.attempts} attempts` : '';
    if (res.status === 404) {
      const code =
        registryCode && NOT_FOUND_CODES.has(registryCode)
          ? registryCode
          : kind === 'blob'
            ? 'BLOB_UNKNOWN'
            : kind === 'repository'
              ? 'NAME_UNKNOWN'
              : kind === 'upload'
                ? 'BLOB_UPLOAD_UNKNOWN'
                : 'MANIFEST_UNKNOWN';
      const noun =
        code === 'NAME_UNKNOWN'
          ? 'repository'
          : code === 'BLOB_UNKNOWN'
            ? 'blob'
            : code === 'BLOB_UPLOAD_UNKNOWN'
              ? 'upload session'
              : 'manifest';
      return raise(
        new VouchError(code, `${noun} not found: ${subject}${suffix}`, {
          exitCode: 3,
          hint: 'check the reference (registry, repository, tag or digest)',
          details: { status: 404, registry: this.host },
        }),
      );
    }
    if (res.status === 416 || (kind === 'upload' && registryCode === 'BLOB_UPLOAD_INVALID')) {
      return raise(
        new VouchError('BLOB_UPLOAD_INVALID', `${this.host} rejected the upload of ${subject}${suffix}`, {
          exitCode: 3,
          hint: 'retry the upload',
        }),
      );
    }
    if (registryCode === 'DIGEST_INVALID') {
      return raise(
        new VouchError(
          'DIGEST_MISMATCH',
          `${this.host} rejected ${subject}: content does not match its digest${suffix}`,
          { exitCode: 3, hint: 'the content does not match its descriptor' },
        ),
      );
    }
    const retriable = res.status === 429 || res.status >= 500;
    return raise(
      new VouchError(
        'REGISTRY_ERROR',
        `${this.host} answered ${res.status} to ${kind} ${subject}${suffix}${tries}`,
        {
          exitCode: 3,
          hint: retriable
            ? 'the registry is overloaded or failing; retry later'
            : 'the registry refused the request; check the reference and the content',
          details: { status: res.status, registry: this.host, ...(registryCode ? { registryCode } : {}) },
        },
      ),
    );
  }
}

/** Upload failures after which a replayable upload starts over with a new session. */
const RESTARTABLE = new Set([
  'BLOB_UPLOAD_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'REGISTRY_UNREACHABLE',
  'REGISTRY_TIMEOUT',
]);

function isRestartable(err: unknown): boolean {
  if (!isVouchError(err)) return false;
  if (RESTARTABLE.has(err.code)) return true;
  // A server-side failure may have broken the session; a 4xx refusal would only repeat.
  const status = err.details?.status;
  return err.code === 'REGISTRY_ERROR' && typeof status === 'number' && (status === 429 || status >= 500);
}

function raise(err: VouchError): never {
  throw err;
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `CODE: message` from a distribution error body, if any (body read with a small cap). */
async function errorDetail(res: HttpResponse): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readBody(res.body, ERROR_BODY_MAX, 'error body');
  } catch {
    return undefined;
  }
  try {
    const body = JSON.parse(bytes.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = Array.isArray(body?.errors) ? body.errors[0] : undefined;
    if (first && typeof first.code === 'string') {
      const msg = typeof first.message === 'string' && first.message ? `: ${oneLine(first.message)}` : '';
      return `${oneLine(first.code)}${msg}`;
    }
  } catch {
    // not JSON: no detail
  }
  return undefined;
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? line.slice(0, 197) + '…' : line;
}

function checkTagOrDigest(ref: string): string {
  if (isDigest(ref) || isTag(ref)) return ref;
  if (/^sha(256|512):/.test(ref)) return assertDigest(ref);
  throw new VouchError(
    'BAD_REFERENCE',
    `invalid tag or digest "${ref.length > 80 ? ref.slice(0, 77) + '…' : ref}"`,
    {
      exitCode: 2,
      hint: 'a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a digest is sha256:<64 hex>',
    },
  );
}

function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw ioFailure(
      'MANIFEST_INVALID',
      `${what} is not valid JSON`,
      'the registry returned malformed content',
      err,
    );
  }
}

/** Parses and minimally validates a manifest or index (schemaVersion 2, required fields). */
export function parseManifest(bytes: Buffer, what: string): Manifest {
  const m = parseJson(bytes, `manifest ${what}`) as Record<string, unknown> | null;
  const bad = (why: string) =>
    ioFailure(
      'MANIFEST_INVALID',
      `manifest ${what} is invalid: ${why}`,
      'the registry returned a manifest vouch cannot use',
    );
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw bad('not a JSON object');
  if (m.schemaVersion !== 2) throw bad(`unsupported schemaVersion ${JSON.stringify(m.schemaVersion)}`);
  if (m.mediaType !== undefined && typeof m.mediaType !== 'string') throw bad('mediaType is not a string');
  if (Array.isArray(m.manifests)) {
    for (const d of m.manifests) checkDescriptor(d, `manifest ${what}`, 'registry');
  } else if (m.config && typeof m.config === 'object' && Array.isArray(m.layers)) {
    checkDescriptor(m.config, `manifest ${what}`, 'registry');
    for (const d of m.layers) checkDescriptor(d, `manifest ${what}`, 'registry');
  } else throw bad('neither an image manifest (config, layers) nor an index (manifests)');
  if (m.subject !== undefined) checkDescriptor(m.subject, `manifest ${what}`, 'registry');
  return m as unknown as Manifest;
}

function checkDescriptor(d: unknown, what: string, host: string): Descriptor {
  const x = d as Record<string, unknown> | null;
  const ok =
    !!x &&
    typeof x === 'object' &&
    typeof x.mediaType === 'string' &&
    typeof x.digest === 'string' &&
    isDigest(x.digest) &&
    typeof x.size === 'number' &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0 &&
    (x.artifactType === undefined || typeof x.artifactType === 'string');
  if (!ok) {
    throw ioFailure(
      'MANIFEST_INVALID',
      `${what} from ${host} holds a malformed descriptor`,
      'descriptors need mediaType, a sha256/sha512 digest and a non-negative size',
    );
  }
  return x as unknown as Descriptor;
}

function peekArtifactType(bytes: Buffer): string | undefined {
  try {
    const m = JSON.parse(bytes.toString('utf8')) as { artifactType?: unknown };
    return typeof m?.artifactType === 'string' ? m.artifactType : undefined;
  } catch {
    return undefined;
  }
}

/** The absolute URL of a Location header (relative locations resolve against the request). */
function nextLocation(res: HttpResponse, requestUrl: string): string {
  const loc = header(res, 'location');
  if (!loc)
    throw ioFailure(
      'REGISTRY_ERROR',
      `${new URL(requestUrl).host} started an upload without a Location`,
      'the registry is misbehaving',
    );
  return new URL(loc, requestUrl).toString();
}

/** Appends `digest=` to an upload URL, keeping its existing query bytes as they are. */
export function withDigestParam(location: string, digest: string): string {
  const url = new URL(location);
  const param = `digest=${encodeURIComponent(digest)}`;
  url.search = url.search && url.search !== '?' ? `${url.search}&${param}` : `?${param}`;
  return url.toString();
}

/** The `rel="next"` target of a Link header, resolved against the response URL. */
function nextLink(res: HttpResponse): string | undefined {
  const link = header(res, 'link');
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim());
    if (m && /rel="?next"?/i.test(m[2]!)) return new URL(m[1]!, res.url).toString();
  }
  return undefined;
}
