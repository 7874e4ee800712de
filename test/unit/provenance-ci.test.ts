/**
 * Provenance under recorded CI environments. The source directory is an empty temp dir (no
 * git), so everything about the source comes from the CI variables.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStatement } from '../../src/attestation/index.js';
import {
  CI_VARIABLES,
  detectCi,
  generateProvenance,
  type GeneratedProvenance,
} from '../../src/provenance/index.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const SUBJECT = { name: 'fn.zip', digest: { sha256: 'f'.repeat(64) } };
const NOW = new Date('2026-12-03T12:00:00Z');
const dir = mkdtempSync(path.join(os.tmpdir(), 'vouch-prov-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Secrets every platform injects next to the variables vouch reads. */
const SECRETS: Record<string, string> = {
  GITHUB_TOKEN: 'ghs_SECRETgithubtoken',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'SECRETidtokenrequest',
  ACTIONS_RUNTIME_TOKEN: 'SECRETruntime',
  AWS_SECRET_ACCESS_KEY: 'SECRETawssecret',
  AWS_SESSION_TOKEN: 'SECRETawssession',
  CI_JOB_TOKEN: 'SECRETcijobtoken',
  CI_JOB_JWT: 'SECRETcijobjwt',
  CI_REGISTRY_PASSWORD: 'SECRETciregistry',
  CI_DEPLOY_PASSWORD: 'SECRETdeploy',
  BUILDKITE_AGENT_ACCESS_TOKEN: 'SECRETbuildkiteagent',
  CIRCLE_OIDC_TOKEN: 'SECRETcircleoidc',
  SYSTEM_ACCESSTOKEN: 'SECRETazureaccess',
  NPM_TOKEN: 'SECRETnpm',
  VOUCH_KEY_PASSWORD: 'SECRETkeypassword',
  SIGSTORE_ID_TOKEN: 'SECRETsigstoreid',
};

async function gen(
  env: Record<string, string>,
  extra: Partial<Parameters<typeof generateProvenance>[0]> = {},
): Promise<GeneratedProvenance> {
  const r = await generateProvenance({
    subjects: [SUBJECT],
    env: { ...env, ...SECRETS },
    sourceDir: dir,
    now: NOW,
    ...extra,
  });
  const text = JSON.stringify(r);
  for (const v of Object.values(SECRETS)) expect(text, `secret ${v} leaked`).not.toContain(v);
  expect(checkStatement(r.statement)).toBeUndefined();
  return r;
}

describe('GitHub Actions', () => {
  const env = {
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/widget',
    GITHUB_REPOSITORY_ID: '42',
    GITHUB_REPOSITORY_OWNER_ID: '7',
    GITHUB_SHA: COMMIT,
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKFLOW_REF: 'acme/widget/.github/workflows/release.yml@refs/heads/main',
    GITHUB_RUN_ID: '123',
    GITHUB_RUN_ATTEMPT: '2',
    GITHUB_EVENT_NAME: 'push',
    RUNNER_ENVIRONMENT: 'github-hosted',
  };
  it('uses GitHub build type, builder, workflow parameters, source and run URL', async () => {
    const r = await gen(env);
    expect(r.ci).toBe('github-actions');
    expect(r.statement.subject).toEqual([SUBJECT]);
    expect(r.statement.predicate).toEqual({
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: {
          workflow: {
            ref: 'refs/heads/main',
            repository: 'https://github.com/acme/widget',
            path: '.github/workflows/release.yml',
          },
        },
        internalParameters: {
          github: {
            event_name: 'push',
            repository_id: '42',
            repository_owner_id: '7',
            runner_environment: 'github-hosted',
          },
        },
        resolvedDependencies: [
          { uri: 'git+https://github.com/acme/widget@refs/heads/main', digest: { gitCommit: COMMIT } },
        ],
      },
      runDetails: {
        builder: {
          id: 'https://github.com/actions/runner/github-hosted',
          version: { vouch: expect.any(String) },
        },
        metadata: {
          invocationId: 'https://github.com/acme/widget/actions/runs/123/attempts/2',
          finishedOn: '2026-12-03T12:00:00.000Z',
        },
      },
    });
    expect(r.source).toMatchObject({
      repository: 'https://github.com/acme/widget',
      commit: COMMIT,
      from: 'ci',
    });
  });
  it('records a self-hosted runner unless GitHub says github-hosted', async () => {
    const r = await gen({ ...env, RUNNER_ENVIRONMENT: 'self-hosted' });
    expect(r.statement.predicate.runDetails.builder.id).toBe('https://github.com/actions/runner/self-hosted');
    const { RUNNER_ENVIRONMENT: _r, ...noRunner } = env;
    const r2 = await gen(noRunner);
    expect(r2.statement.predicate.runDetails.builder.id).toBe(
      'https://github.com/actions/runner/self-hosted',
    );
    expect(r2.warnings.join()).toMatch(/RUNNER_ENVIRONMENT/);
  });
  it('records workflow_dispatch inputs from the event payload (and nothing else of it)', async () => {
    const ev = path.join(dir, 'event.json');
    writeFileSync(
      ev,
      JSON.stringify({ inputs: { version: '1.4.0', dry_run: 'false' }, sender: { login: 'mallory' } }),
    );
    const r = await gen({ ...env, GITHUB_EVENT_NAME: 'workflow_dispatch', GITHUB_EVENT_PATH: ev });
    expect(r.statement.predicate.buildDefinition.externalParameters.inputs).toEqual({
      version: '1.4.0',
      dry_run: 'false',
    });
    expect(JSON.stringify(r.statement)).not.toContain('mallory');
  });
  it('--builder-id and --build-type override detection', async () => {
    const r = await gen(env, {
      builderId: 'https://ci.example.com/b@v1',
      buildType: 'https://example.com/bt/v2',
    });
    expect(r.statement.predicate.runDetails.builder.id).toBe('https://ci.example.com/b@v1');
    expect(r.statement.predicate.buildDefinition.buildType).toBe('https://example.com/bt/v2');
    await expect(gen(env, { builderId: 'not a uri' })).rejects.toMatchObject({
      exitCode: 2,
      message: /--builder-id "not a uri" is not an absolute URI/,
    });
  });
});

describe('GitLab CI', () => {
  const env = {
    GITLAB_CI: 'true',
    CI: 'true',
    CI_SERVER_URL: 'https://gitlab.com',
    CI_PROJECT_PATH: 'acme/widget',
    CI_PROJECT_URL: 'https://gitlab.com/acme/widget',
    CI_COMMIT_SHA: COMMIT,
    CI_COMMIT_REF_NAME: 'main',
    CI_COMMIT_BRANCH: 'main',
    CI_JOB_ID: '456',
    CI_JOB_NAME: 'build',
    CI_PIPELINE_ID: '789',
    CI_JOB_URL: 'https://gitlab.com/acme/widget/-/jobs/456',
    CI_JOB_STARTED_AT: '2026-12-03T11:58:00Z',
    CI_CONFIG_PATH: '.gitlab-ci.yml',
    CI_RUNNER_ID: '9',
    CI_RUNNER_VERSION: '17.2.1',
    CI_RUNNER_REVISION: 'abc123de',
  };
  it('follows GitLab runner provenance: runner builder id, versioned build type, job URL', async () => {
    const r = await gen(env);
    const p = r.statement.predicate;
    expect(r.ci).toBe('gitlab-ci');
    expect(p.runDetails.builder).toEqual({
      id: 'https://gitlab.com/acme/widget/-/runners/9',
      version: { vouch: expect.any(String), 'gitlab-runner': 'abc123de' },
    });
    expect(p.buildDefinition.buildType).toBe(
      'https://gitlab.com/gitlab-org/gitlab-runner/-/blob/v17.2.1/PROVENANCE.md',
    );
    expect(p.buildDefinition.externalParameters).toEqual({
      source: 'https://gitlab.com/acme/widget',
      entryPoint: 'build',
      configPath: '.gitlab-ci.yml',
      ref: 'main',
    });
    expect(p.buildDefinition.internalParameters).toEqual({ job: '456', pipeline: '789' });
    expect(p.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://gitlab.com/acme/widget@refs/heads/main', digest: { gitCommit: COMMIT } },
    ]);
    expect(p.runDetails.metadata).toEqual({
      invocationId: 'https://gitlab.com/acme/widget/-/jobs/456',
      startedOn: '2026-12-03T11:58:00.000Z',
      finishedOn: '2026-12-03T12:00:00.000Z',
    });
  });
  it('a tag pipeline records refs/tags/…', async () => {
    const { CI_COMMIT_BRANCH: _b, ...rest } = env;
    const r = await gen({ ...rest, CI_COMMIT_TAG: 'v1.4.0', CI_COMMIT_REF_NAME: 'v1.4.0' });
    expect(r.statement.predicate.buildDefinition.resolvedDependencies?.[0]?.uri).toBe(
      'git+https://gitlab.com/acme/widget@refs/tags/v1.4.0',
    );
  });
});

describe('other CI systems', () => {
  it('Buildkite', async () => {
    const r = await gen({
      BUILDKITE: 'true',
      BUILDKITE_ORGANIZATION_SLUG: 'acme',
      BUILDKITE_PIPELINE_SLUG: 'widget',
      BUILDKITE_BUILD_URL: 'https://buildkite.com/acme/widget/builds/77',
      BUILDKITE_BUILD_NUMBER: '77',
      BUILDKITE_JOB_ID: '0190-job',
      BUILDKITE_REPO: 'git@github.com:acme/widget.git',
      BUILDKITE_COMMIT: COMMIT,
      BUILDKITE_BRANCH: 'main',
      BUILDKITE_SOURCE: 'webhook',
    });
    const p = r.statement.predicate;
    expect(r.ci).toBe('buildkite');
    expect(p.runDetails.builder.id).toBe('https://buildkite.com/acme/agents/self-hosted');
    expect(p.buildDefinition.buildType).toBe('https://vouch.dev/buildtypes/buildkite/v1');
    expect(p.buildDefinition.externalParameters).toMatchObject({
      organization: 'acme',
      pipeline: 'widget',
      branch: 'main',
      source: 'webhook',
    });
    expect(p.buildDefinition.resolvedDependencies?.[0]).toEqual({
      uri: 'git+git@github.com:acme/widget.git@refs/heads/main',
      digest: { gitCommit: COMMIT },
    });
    expect(p.runDetails.metadata?.invocationId).toBe('https://buildkite.com/acme/widget/builds/77#0190-job');
  });
  it('Jenkins (credentials in GIT_URL stripped)', async () => {
    const r = await gen({
      JENKINS_URL: 'https://jenkins.example.com/',
      JOB_NAME: 'widget/main',
      BUILD_NUMBER: '12',
      BUILD_ID: '12',
      BUILD_URL: 'https://jenkins.example.com/job/widget/job/main/12/',
      GIT_URL: 'https://jenkins-bot:SECRETjenkinspat@git.example.com/acme/widget.git',
      GIT_COMMIT: COMMIT,
      GIT_BRANCH: 'origin/main',
      NODE_NAME: 'agent-3',
    });
    const p = r.statement.predicate;
    expect(r.ci).toBe('jenkins');
    expect(p.runDetails.builder.id).toBe('https://jenkins.example.com/');
    expect(p.buildDefinition.buildType).toBe('https://vouch.dev/buildtypes/jenkins/v1');
    expect(p.buildDefinition.resolvedDependencies?.[0]?.uri).toBe(
      'git+https://git.example.com/acme/widget.git@refs/heads/main',
    );
    expect(p.runDetails.metadata?.invocationId).toBe('https://jenkins.example.com/job/widget/job/main/12/');
    expect(JSON.stringify(r)).not.toContain('SECRETjenkinspat');
    expect(JSON.stringify(r)).not.toContain('jenkins-bot');
  });
  it('CircleCI', async () => {
    const r = await gen({
      CIRCLECI: 'true',
      CIRCLE_PROJECT_USERNAME: 'acme',
      CIRCLE_PROJECT_REPONAME: 'widget',
      CIRCLE_REPOSITORY_URL: 'https://github.com/acme/widget',
      CIRCLE_SHA1: COMMIT,
      CIRCLE_TAG: 'v1.4.0',
      CIRCLE_BUILD_NUM: '31',
      CIRCLE_BUILD_URL: 'https://circleci.com/gh/acme/widget/31',
      CIRCLE_JOB: 'release',
      CIRCLE_WORKFLOW_ID: 'wf-1',
    });
    const p = r.statement.predicate;
    expect(r.ci).toBe('circleci');
    expect(p.buildDefinition.buildType).toBe('https://vouch.dev/buildtypes/circleci/v1');
    expect(p.buildDefinition.externalParameters).toEqual({
      project: 'acme/widget',
      job: 'release',
      tag: 'v1.4.0',
    });
    expect(p.buildDefinition.resolvedDependencies?.[0]?.uri).toBe(
      'git+https://github.com/acme/widget@refs/tags/v1.4.0',
    );
    expect(p.runDetails.metadata?.invocationId).toBe('https://circleci.com/gh/acme/widget/31');
  });
  it('Azure Pipelines', async () => {
    const r = await gen({
      TF_BUILD: 'True',
      SYSTEM_COLLECTIONURI: 'https://dev.azure.com/acme/',
      SYSTEM_TEAMPROJECT: 'Widget Team',
      BUILD_BUILDID: '1001',
      BUILD_DEFINITIONNAME: 'widget-ci',
      BUILD_REPOSITORY_URI: 'https://acme@dev.azure.com/acme/Widget/_git/widget',
      BUILD_SOURCEVERSION: COMMIT,
      BUILD_SOURCEBRANCH: 'refs/heads/main',
      BUILD_REASON: 'IndividualCI',
      AGENT_ISSELFHOSTED: '0',
    });
    const p = r.statement.predicate;
    expect(r.ci).toBe('azure-pipelines');
    expect(p.runDetails.builder.id).toBe('https://dev.azure.com/acme/_agents/microsoft-hosted');
    expect(p.buildDefinition.buildType).toBe('https://vouch.dev/buildtypes/azure-pipelines/v1');
    expect(p.buildDefinition.resolvedDependencies?.[0]?.uri).toBe(
      'git+https://dev.azure.com/acme/Widget/_git/widget@refs/heads/main',
    );
    expect(p.runDetails.metadata?.invocationId).toBe(
      'https://dev.azure.com/acme/Widget%20Team/_build/results?buildId=1001',
    );
  });
  it('Google Cloud Build', async () => {
    const r = await gen({
      BUILD_ID: 'b-123',
      PROJECT_ID: 'acme-prod',
      LOCATION: 'europe-west1',
      COMMIT_SHA: COMMIT,
      BRANCH_NAME: 'main',
      REPO_FULL_NAME: 'acme/widget',
      TRIGGER_NAME: 'release',
    });
    const p = r.statement.predicate;
    expect(r.ci).toBe('google-cloud-build');
    expect(p.runDetails.builder.id).toBe('https://cloudbuild.googleapis.com/GoogleHostedWorker');
    expect(p.buildDefinition.buildType).toBe('https://vouch.dev/buildtypes/google-cloud-build/v1');
    expect(p.buildDefinition.externalParameters).toMatchObject({
      project: 'acme-prod',
      location: 'europe-west1',
      trigger: 'release',
    });
    expect(p.buildDefinition.resolvedDependencies).toEqual([{ digest: { gitCommit: COMMIT } }]);
    expect(p.runDetails.metadata?.invocationId).toBe(
      'https://console.cloud.google.com/cloud-build/builds;region=europe-west1/b-123?project=acme-prod',
    );
  });
  it('Tekton (builder id from --builder-id)', async () => {
    const env = {
      TEKTON_PIPELINERUN_NAME: 'release-run-x7',
      TEKTON_TASKRUN_NAME: 'release-run-x7-build',
      TEKTON_TASKRUN_UID: '5d1c9b0e-8c1f-4a57-9d49-6b1f3c0e2a11',
      TEKTON_NAMESPACE: 'ci',
      TEKTON_GIT_URL: 'https://github.com/acme/widget',
      TEKTON_GIT_COMMIT: COMMIT,
    };
    const r = await gen(env, { builderId: 'https://tekton.example.com/clusters/prod' });
    const p = r.statement.predicate;
    expect(r.ci).toBe('tekton');
    expect(p.runDetails.builder.id).toBe('https://tekton.example.com/clusters/prod');
    expect(p.buildDefinition.buildType).toBe('https://vouch.dev/buildtypes/tekton/v1');
    expect(p.buildDefinition.externalParameters).toEqual({
      pipelineRun: 'release-run-x7',
      taskRun: 'release-run-x7-build',
      namespace: 'ci',
    });
    expect(p.runDetails.metadata?.invocationId).toBe(
      'urn:tekton:taskrun:ci/release-run-x7-build/5d1c9b0e-8c1f-4a57-9d49-6b1f3c0e2a11',
    );
    const r2 = await gen(env);
    expect(r2.warnings.join()).toMatch(/Tekton: no --builder-id/);
  });
  it('local fallback: local builder, no source outside a checkout, with a warning', async () => {
    const r = await gen({ PATH: '/usr/bin', HOME: '/root' });
    const p = r.statement.predicate;
    expect(r.ci).toBe('local');
    expect(p.runDetails.builder.id).toBe('https://vouch.dev/builders/local');
    expect(p.buildDefinition).toEqual({
      buildType: 'https://vouch.dev/buildtypes/local/v1',
      externalParameters: {},
    });
    expect(p.runDetails.metadata?.invocationId).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(r.warnings.join()).toMatch(/not a git checkout/);
  });
});

describe('detectCi reads only its allowlist', () => {
  it('never copies a variable outside the allowlists, whatever its name', () => {
    const env: Record<string, string> = {
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/widget',
      GITHUB_SECRET_THING: 'SECRETx1',
      GITHUB_RUN_ID: '1',
      RUNNER_TEMP: 'SECRETx2',
    };
    const text = JSON.stringify(detectCi(env));
    expect(text).not.toMatch(/SECRETx/);
    for (const list of Object.values(CI_VARIABLES))
      for (const name of list) expect(name).not.toMatch(/TOKEN|PASSW|SECRET|PRIVATE|ACCESS_KEY|API_KEY|JWT/);
  });
  it('a --source-dir that is not a directory is bad input', async () => {
    await expect(gen({}, { sourceDir: path.join(dir, 'nope') })).rejects.toMatchObject({
      exitCode: 2,
      code: 'SOURCE_DIR',
    });
  });
  it('materials are parsed and bad ones refused with exit 2', async () => {
    const r = await gen({}, { materials: [`https://example.com/base.tar@sha256:${'A'.repeat(64)}`] });
    expect(r.statement.predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'https://example.com/base.tar', digest: { sha256: 'a'.repeat(64) } },
    ]);
    await expect(gen({}, { materials: ['https://example.com/base.tar@sha256:abc'] })).rejects.toMatchObject({
      exitCode: 2,
    });
  });
});
