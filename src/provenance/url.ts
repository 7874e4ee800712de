/**
 * Credential stripping for every URL that ends up in provenance. Remote URLs and CI
 * variables routinely embed tokens (`https://x-access-token:ghs_…@github.com/…`,
 * `?private_token=…`); a statement is public and signed forever, so they must never reach it.
 */

const SECRET_PARAM = /token|secret|passw|pwd|key|sig|auth|credential|session|code|x-amz-|jwt|bearer|apikey/i;

/**
 * Removes userinfo passwords and secret-looking query parameters. `https://bob:tok@host/x`
 * becomes `https://host/x` (the user name alone is dropped too: for tokens it is often the
 * secret's label, e.g. `oauth2`, and it identifies no source). scp-like `git@host:org/repo`
 * stays as it is: it carries no secret.
 */
export function stripCredentials(raw: string): string {
  const s = raw.trim();
  const scp = /^([^@/:\s]+)(?::[^@/\s]*)?@([^:/\s]+):(?!\/\/)(.*)$/.exec(s);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return `${scp[1]}@${scp[2]}:${scp[3]}`;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    // Not a URL: still cut anything that looks like `scheme://user:pass@`.
    return s.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
  }
  u.username = '';
  u.password = '';
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.delete(k);
  let out = u.toString();
  // URL.toString leaves a dangling `?` when every parameter was removed.
  if (u.search === '' && out.includes('?')) out = out.replace(/\?(?=#|$)/, '');
  // URL.toString adds a `/` to a bare origin; keep `https://github.com` as it was written.
  if (u.pathname === '/' && !s.endsWith('/') && u.search === '' && u.hash === '')
    out = out.replace(/\/$/, '');
  return out;
}

/** True for 40- or 64-hex git object names (SHA-1 or SHA-256 repositories). */
export function isGitCommit(s: string | undefined): s is string {
  return typeof s === 'string' && /^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(s);
}
