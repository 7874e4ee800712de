/**
 * Source facts from a local git checkout. git runs via execFile with `-C dir` (no shell, so
 * no quoting of paths), with prompts and config-driven helpers disabled so that a build never
 * blocks or runs a credential helper.
 */
import { execFile } from 'node:child_process';
import { stripCredentials, isGitCommit } from './url.js';

export interface GitSource {
  /** Remote URL (origin, else the first remote), credentials stripped. */
  repository?: string;
  commit: string;
  /** Symbolic ref of HEAD (`refs/heads/main`); absent on a detached HEAD. */
  ref?: string;
  /** Tags pointing at HEAD, as `refs/tags/<name>`. */
  tags: string[];
  /** Uncommitted changes (tracked or untracked) in the working tree. */
  dirty: boolean;
  /** Top-level directory of the working tree. */
  root: string;
}

function git(dir: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['-C', dir, ...args],
      {
        encoding: 'utf8',
        maxBuffer: 8 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/',
          GIT_TERMINAL_PROMPT: '0',
          LC_ALL: 'C',
        },
      },
      (err, stdout) => resolve({ ok: !err, out: typeof stdout === 'string' ? stdout.trim() : '' }),
    );
  });
}

/**
 * Reads repository URL, commit, ref, tags and dirtiness of the checkout containing `dir`.
 * Returns undefined when `dir` is not inside a git work tree with at least one commit (or git
 * is not installed): provenance then simply has no source.
 */
export async function gitSource(dir: string): Promise<GitSource | undefined> {
  const top = await git(dir, ['rev-parse', '--show-toplevel']);
  if (!top.ok || !top.out) return undefined;
  const head = await git(dir, ['rev-parse', '--verify', '-q', 'HEAD']);
  if (!head.ok || !isGitCommit(head.out)) return undefined;
  const [ref, tags, status, remotes] = await Promise.all([
    git(dir, ['symbolic-ref', '-q', 'HEAD']),
    git(dir, ['tag', '--points-at', 'HEAD']),
    git(dir, ['status', '--porcelain', '--untracked-files=normal']),
    git(dir, ['remote']),
  ]);
  const names = remotes.ok ? remotes.out.split('\n').filter(Boolean) : [];
  const remote = names.includes('origin') ? 'origin' : names[0];
  let repository: string | undefined;
  if (remote) {
    // `config --get` reads the configured URL as written (not `insteadOf`-rewritten), which is
    // what identifies the source.
    const url = await git(dir, ['config', '--get', `remote.${remote}.url`]);
    if (url.ok && url.out) repository = stripCredentials(url.out);
  }
  return {
    ...(repository ? { repository } : {}),
    commit: head.out.toLowerCase(),
    ...(ref.ok && ref.out ? { ref: ref.out } : {}),
    tags: tags.ok
      ? tags.out
          .split('\n')
          .filter(Boolean)
          .map((t) => `refs/tags/${t}`)
      : [],
    dirty: status.ok && status.out.length > 0,
    root: top.out,
  };
}
