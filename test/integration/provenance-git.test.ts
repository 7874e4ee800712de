/** Source facts from real git repositories made in temp dirs. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateProvenance, gitSource, stripCredentials } from '../../src/provenance/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'vouch-prov-git-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.email=ci@example.com', '-c', 'user.name=ci', ...args], {
    encoding: 'utf8',
  }).trim();
}

function repo(name: string, remote?: string): { dir: string; head: string } {
  const dir = path.join(root, name);
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'README.md'), 'hello\n');
  git(dir, 'add', 'README.md');
  git(dir, 'commit', '-q', '-m', 'initial');
  if (remote) git(dir, 'remote', 'add', 'origin', remote);
  return { dir, head: git(dir, 'rev-parse', 'HEAD') };
}

const SUBJECT = { name: 'fn.zip', digest: { sha256: 'f'.repeat(64) } };

describe('gitSource', () => {
  it('a credentialed remote URL is recorded without the credentials', async () => {
    const { dir, head } = repo(
      'cred',
      'https://bob:tok3nSECRET@git.example.test/acme/widget.git?private_token=SECRETq&x=1',
    );
    const s = await gitSource(dir);
    expect(s).toMatchObject({
      repository: 'https://git.example.test/acme/widget.git?x=1',
      commit: head,
      ref: 'refs/heads/main',
      dirty: false,
      tags: [],
    });
    const r = await generateProvenance({ subjects: [SUBJECT], env: {}, sourceDir: dir });
    const text = JSON.stringify(r);
    expect(text).not.toContain('tok3nSECRET');
    expect(text).not.toContain('SECRETq');
    expect(text).not.toContain('bob');
    expect(r.statement.predicate.buildDefinition.resolvedDependencies).toEqual([
      {
        uri: 'git+https://git.example.test/acme/widget.git?x=1@refs/heads/main',
        digest: { gitCommit: head },
      },
    ]);
    expect(r.statement.predicate.buildDefinition.externalParameters).toEqual({
      source: { repository: 'https://git.example.test/acme/widget.git?x=1', ref: 'refs/heads/main' },
    });
    expect(r.source.from).toBe('git');
  });

  it('an scp-like remote stays as it is', async () => {
    const { dir } = repo('scp', 'git@github.com:acme/widget.git');
    expect((await gitSource(dir))?.repository).toBe('git@github.com:acme/widget.git');
  });

  it('tags at HEAD and a dirty tree are recorded, with a warning', async () => {
    const { dir, head } = repo('dirty', 'https://github.com/acme/widget');
    git(dir, 'tag', 'v1.4.0');
    git(dir, 'tag', '-a', 'release', '-m', 'annotated');
    writeFileSync(path.join(dir, 'README.md'), 'changed\n');
    const r = await generateProvenance({ subjects: [SUBJECT], env: {}, sourceDir: path.join(dir) });
    expect(r.statement.predicate.buildDefinition.resolvedDependencies?.[0]).toEqual({
      uri: 'git+https://github.com/acme/widget@refs/heads/main',
      digest: { gitCommit: head },
      annotations: { dirty: true, tags: ['refs/tags/release', 'refs/tags/v1.4.0'] },
    });
    expect(r.warnings.some((w) => /working tree is dirty/.test(w))).toBe(true);
  });

  it('an untracked file makes the tree dirty; a clean one is not', async () => {
    const { dir } = repo('untracked');
    expect((await gitSource(dir))?.dirty).toBe(false);
    writeFileSync(path.join(dir, 'new.txt'), 'x');
    expect((await gitSource(dir))?.dirty).toBe(true);
  });

  it('a detached HEAD has no ref; the tag at HEAD is used as ref', async () => {
    const { dir, head } = repo('detached', 'https://github.com/acme/widget');
    git(dir, 'tag', 'v2.0.0');
    git(dir, 'checkout', '-q', '--detach', head);
    const s = await gitSource(dir);
    expect(s?.ref).toBeUndefined();
    const r = await generateProvenance({ subjects: [SUBJECT], env: {}, sourceDir: dir });
    expect(r.statement.predicate.buildDefinition.resolvedDependencies?.[0]?.uri).toBe(
      'git+https://github.com/acme/widget@refs/tags/v2.0.0',
    );
  });

  it('a subdirectory of a checkout is part of it', async () => {
    const { dir, head } = repo('sub');
    mkdirSync(path.join(dir, 'pkg'));
    expect((await gitSource(path.join(dir, 'pkg')))?.commit).toBe(head);
  });

  it('not a git repository, or no commit yet: no source', async () => {
    const plain = path.join(root, 'plain');
    mkdirSync(plain);
    expect(await gitSource(plain)).toBeUndefined();
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    expect(await gitSource(empty)).toBeUndefined();
    const r = await generateProvenance({ subjects: [SUBJECT], env: {}, sourceDir: plain });
    expect(r.statement.predicate.buildDefinition.resolvedDependencies).toBeUndefined();
    expect(r.source.from).toBe('none');
  });

  it('CI wins over the checkout for repository, commit and ref; local dirtiness only for the same commit', async () => {
    const { dir, head } = repo('ci', 'https://github.com/acme/local');
    writeFileSync(path.join(dir, 'README.md'), 'dirty\n');
    const env = {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/widget',
      GITHUB_SHA: head,
      GITHUB_REF: 'refs/heads/release',
    };
    const same = await generateProvenance({ subjects: [SUBJECT], env, sourceDir: dir });
    expect(same.statement.predicate.buildDefinition.resolvedDependencies?.[0]).toEqual({
      uri: 'git+https://github.com/acme/widget@refs/heads/release',
      digest: { gitCommit: head },
      annotations: { dirty: true },
    });
    expect(same.source.from).toBe('ci+git');
    const other = await generateProvenance({
      subjects: [SUBJECT],
      env: { ...env, GITHUB_SHA: 'a'.repeat(40) },
      sourceDir: dir,
    });
    expect(other.statement.predicate.buildDefinition.resolvedDependencies?.[0]).toEqual({
      uri: 'git+https://github.com/acme/widget@refs/heads/release',
      digest: { gitCommit: 'a'.repeat(40) },
    });
    expect(other.warnings.join()).toMatch(/not the CI commit/);
  });
});

describe('stripCredentials', () => {
  it.each([
    ['https://user:pass@host/x', 'https://host/x'],
    ['https://x-access-token:ghs_abc@github.com/acme/widget.git', 'https://github.com/acme/widget.git'],
    ['https://oauth2@gitlab.com/acme/widget', 'https://gitlab.com/acme/widget'],
    ['https://host/x?access_token=abc&ref=main#frag', 'https://host/x?ref=main#frag'],
    ['https://host/x?token=abc', 'https://host/x'],
    ['https://host/x?X-Amz-Signature=abc&X-Amz-Credential=def', 'https://host/x'],
    ['ssh://git:secret@host:2222/org/repo.git', 'ssh://host:2222/org/repo.git'],
    ['git@github.com:acme/widget.git', 'git@github.com:acme/widget.git'],
    ['deploy:SECRET@host:org/repo', 'deploy@host:org/repo'],
    ['https://github.com', 'https://github.com'],
    ['https://jenkins.example.com/', 'https://jenkins.example.com/'],
  ])('%s → %s', (input, want) => {
    expect(stripCredentials(input)).toBe(want);
  });
});
