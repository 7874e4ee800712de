/**
 * CI detection: which build platform runs vouch, and what it says about the build.
 *
 * Each platform reads only an explicit allowlist of variable names through `pick()`; nothing
 * else from the environment is ever looked at, so tokens the platform injects
 * (GITHUB_TOKEN, CI_JOB_TOKEN, BUILDKITE_AGENT_ACCESS_TOKEN, ...) cannot reach a statement.
 * Every URL taken from a variable is passed through stripCredentials().
 */
import { readFileSync } from 'node:fs';
import { stripCredentials, isGitCommit } from './url.js';

export type CiName =
  | 'github-actions'
  | 'gitlab-ci'
  | 'buildkite'
  | 'jenkins'
  | 'circleci'
  | 'azure-pipelines'
  | 'google-cloud-build'
  | 'tekton'
  | 'local';

export interface CiSource {
  repository?: string;
  commit?: string;
  ref?: string;
}

export interface CiInfo {
  name: CiName;
  builderId: string;
  builderVersion?: Record<string, string>;
  buildType: string;
  externalParameters: Record<string, unknown>;
  internalParameters: Record<string, unknown>;
  invocationId?: string;
  startedOn?: string;
  /** What the platform says about the source; wins over the local checkout. */
  source: CiSource;
  warnings: string[];
}

export const VOUCH_BUILD_TYPE = (ci: CiName): string => `https://vouch.dev/buildtypes/${ci}/v1`;
export const GITHUB_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';
export const GITLAB_BUILD_TYPE = (runnerVersion = '17.0.0'): string =>
  `https://gitlab.com/gitlab-org/gitlab-runner/-/blob/v${runnerVersion}/PROVENANCE.md`;
export const LOCAL_BUILDER_ID = 'https://vouch.dev/builders/local';
export const TEKTON_DEFAULT_BUILDER_ID = 'https://vouch.dev/builders/tekton';
export const GCB_BUILDER_ID = 'https://cloudbuild.googleapis.com/GoogleHostedWorker';

type Env = Readonly<Record<string, string | undefined>>;

/** The allowlisted variables of each platform: the only names vouch reads. */
export const CI_VARIABLES: Readonly<Record<Exclude<CiName, 'local'>, readonly string[]>> = {
  'github-actions': [
    'GITHUB_ACTIONS',
    'GITHUB_SERVER_URL',
    'GITHUB_REPOSITORY',
    'GITHUB_REPOSITORY_ID',
    'GITHUB_REPOSITORY_OWNER',
    'GITHUB_REPOSITORY_OWNER_ID',
    'GITHUB_SHA',
    'GITHUB_REF',
    'GITHUB_WORKFLOW',
    'GITHUB_WORKFLOW_REF',
    'GITHUB_WORKFLOW_SHA',
    'GITHUB_RUN_ID',
    'GITHUB_RUN_NUMBER',
    'GITHUB_RUN_ATTEMPT',
    'GITHUB_EVENT_NAME',
    'GITHUB_EVENT_PATH',
    'GITHUB_JOB',
    'RUNNER_ENVIRONMENT',
    'RUNNER_OS',
    'RUNNER_ARCH',
  ],
  'gitlab-ci': [
    'GITLAB_CI',
    'CI_SERVER_URL',
    'CI_SERVER_VERSION',
    'CI_PROJECT_PATH',
    'CI_PROJECT_URL',
    'CI_PROJECT_ID',
    'CI_COMMIT_SHA',
    'CI_COMMIT_REF_NAME',
    'CI_COMMIT_BRANCH',
    'CI_COMMIT_TAG',
    'CI_JOB_ID',
    'CI_JOB_NAME',
    'CI_JOB_URL',
    'CI_JOB_STARTED_AT',
    'CI_PIPELINE_ID',
    'CI_PIPELINE_URL',
    'CI_PIPELINE_SOURCE',
    'CI_CONFIG_PATH',
    'CI_RUNNER_ID',
    'CI_RUNNER_VERSION',
    'CI_RUNNER_REVISION',
    'CI_RUNNER_EXECUTABLE_ARCH',
  ],
  buildkite: [
    'BUILDKITE',
    'BUILDKITE_ORGANIZATION_SLUG',
    'BUILDKITE_PIPELINE_SLUG',
    'BUILDKITE_PIPELINE_DEFAULT_BRANCH',
    'BUILDKITE_BUILD_ID',
    'BUILDKITE_BUILD_NUMBER',
    'BUILDKITE_BUILD_URL',
    'BUILDKITE_JOB_ID',
    'BUILDKITE_STEP_KEY',
    'BUILDKITE_LABEL',
    'BUILDKITE_SOURCE',
    'BUILDKITE_REPO',
    'BUILDKITE_COMMIT',
    'BUILDKITE_BRANCH',
    'BUILDKITE_TAG',
    'BUILDKITE_RETRY_COUNT',
    'BUILDKITE_AGENT_ID',
    'BUILDKITE_AGENT_NAME',
    'BUILDKITE_AGENT_VERSION',
    'BUILDKITE_COMPUTE_TYPE',
  ],
  jenkins: [
    'JENKINS_URL',
    'JOB_NAME',
    'JOB_URL',
    'BUILD_ID',
    'BUILD_NUMBER',
    'BUILD_URL',
    'NODE_NAME',
    'EXECUTOR_NUMBER',
    'GIT_URL',
    'GIT_COMMIT',
    'GIT_BRANCH',
    'BRANCH_NAME',
    'TAG_NAME',
    'CHANGE_ID',
  ],
  circleci: [
    'CIRCLECI',
    'CIRCLE_PROJECT_USERNAME',
    'CIRCLE_PROJECT_REPONAME',
    'CIRCLE_REPOSITORY_URL',
    'CIRCLE_SHA1',
    'CIRCLE_BRANCH',
    'CIRCLE_TAG',
    'CIRCLE_BUILD_NUM',
    'CIRCLE_BUILD_URL',
    'CIRCLE_JOB',
    'CIRCLE_WORKFLOW_ID',
    'CIRCLE_WORKFLOW_JOB_ID',
    'CIRCLE_NODE_INDEX',
  ],
  'azure-pipelines': [
    'TF_BUILD',
    'SYSTEM_COLLECTIONURI',
    'SYSTEM_TEAMPROJECT',
    'SYSTEM_DEFINITIONID',
    'SYSTEM_JOBID',
    'SYSTEM_JOBATTEMPT',
    'BUILD_DEFINITIONNAME',
    'BUILD_BUILDID',
    'BUILD_BUILDNUMBER',
    'BUILD_REASON',
    'BUILD_REPOSITORY_URI',
    'BUILD_SOURCEVERSION',
    'BUILD_SOURCEBRANCH',
    'AGENT_NAME',
    'AGENT_OS',
    'AGENT_ISSELFHOSTED',
  ],
  'google-cloud-build': [
    'BUILD_ID',
    'PROJECT_ID',
    'PROJECT_NUMBER',
    'LOCATION',
    'TRIGGER_NAME',
    'REPO_FULL_NAME',
    'REPO_NAME',
    '_HEAD_REPO_URL',
    'COMMIT_SHA',
    'BRANCH_NAME',
    'TAG_NAME',
  ],
  tekton: [
    'TEKTON_PIPELINERUN_NAME',
    'TEKTON_TASKRUN_NAME',
    'TEKTON_TASKRUN_UID',
    'TEKTON_NAMESPACE',
    'TEKTON_GIT_URL',
    'TEKTON_GIT_COMMIT',
    'TEKTON_GIT_REF',
  ],
};

/** Only the allowlisted, non-empty variables. */
function pick(env: Env, ci: Exclude<CiName, 'local'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of CI_VARIABLES[ci]) {
    const v = env[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

/** Drops undefined fields so statements never carry `null`s or empty keys. */
function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') out[k] = v;
  return out as T;
}

function url(v: string | undefined): string | undefined {
  return v ? stripCredentials(v) : undefined;
}

function commit(v: string | undefined): string | undefined {
  return isGitCommit(v) ? v.toLowerCase() : undefined;
}

function int(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function branchRef(branch?: string, tag?: string): string | undefined {
  if (tag) return tag.startsWith('refs/') ? tag : `refs/tags/${tag}`;
  if (branch) return branch.startsWith('refs/') ? branch : `refs/heads/${branch.replace(/^origin\//, '')}`;
  return undefined;
}

function iso(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function github(env: Env): CiInfo {
  const v = pick(env, 'github-actions');
  const server = url(v.GITHUB_SERVER_URL) ?? 'https://github.com';
  const repoUrl = v.GITHUB_REPOSITORY ? `${server}/${v.GITHUB_REPOSITORY}` : undefined;
  // GITHUB_WORKFLOW_REF = owner/repo/.github/workflows/file.yml@refs/heads/main
  const wf = v.GITHUB_WORKFLOW_REF ? /^([^/]+\/[^/]+)\/(.+)@(.+)$/.exec(v.GITHUB_WORKFLOW_REF) : null;
  const hosted = v.RUNNER_ENVIRONMENT === 'github-hosted';
  const warnings: string[] = [];
  if (!v.RUNNER_ENVIRONMENT)
    warnings.push('RUNNER_ENVIRONMENT is not set: recording the runner as self-hosted');
  const inputs = workflowInputs(v, warnings);
  return {
    name: 'github-actions',
    builderId: `${server}/actions/runner/${hosted ? 'github-hosted' : 'self-hosted'}`,
    buildType: GITHUB_BUILD_TYPE,
    externalParameters: {
      workflow: compact({
        ref: wf?.[3] ?? v.GITHUB_REF,
        repository: wf ? `${server}/${wf[1]}` : repoUrl,
        path: wf?.[2],
      }),
      ...(inputs ? { inputs } : {}),
    },
    internalParameters: {
      github: compact({
        event_name: v.GITHUB_EVENT_NAME,
        repository_id: v.GITHUB_REPOSITORY_ID,
        repository_owner_id: v.GITHUB_REPOSITORY_OWNER_ID,
        runner_environment: v.RUNNER_ENVIRONMENT,
      }),
    },
    invocationId:
      repoUrl && v.GITHUB_RUN_ID
        ? `${repoUrl}/actions/runs/${v.GITHUB_RUN_ID}/attempts/${v.GITHUB_RUN_ATTEMPT ?? '1'}`
        : undefined,
    source: compact({ repository: repoUrl, commit: commit(v.GITHUB_SHA), ref: v.GITHUB_REF }),
    warnings,
  };
}

/**
 * `workflow_dispatch` inputs, read from the event payload file; only its `inputs` member is
 * taken (the payload also describes the sender and repository, which are not parameters).
 */
function workflowInputs(v: Record<string, string>, warnings: string[]): Record<string, unknown> | undefined {
  if (!v.GITHUB_EVENT_PATH || !/^workflow_(dispatch|call)$/.test(v.GITHUB_EVENT_NAME ?? '')) return undefined;
  try {
    const ev = JSON.parse(readFileSync(v.GITHUB_EVENT_PATH, 'utf8')) as { inputs?: unknown };
    const inputs = ev.inputs;
    if (inputs && typeof inputs === 'object' && !Array.isArray(inputs) && Object.keys(inputs).length > 0) {
      return inputs as Record<string, unknown>;
    }
  } catch {
    warnings.push('GITHUB_EVENT_PATH could not be read: workflow inputs are not recorded');
  }
  return undefined;
}

function gitlab(env: Env): CiInfo {
  const v = pick(env, 'gitlab-ci');
  const server = url(v.CI_SERVER_URL) ?? 'https://gitlab.com';
  const project = url(v.CI_PROJECT_URL) ?? (v.CI_PROJECT_PATH ? `${server}/${v.CI_PROJECT_PATH}` : undefined);
  const runnerVersion = v.CI_RUNNER_VERSION?.replace(/^v/, '');
  return {
    name: 'gitlab-ci',
    // GitLab runner's own provenance uses the runner's page as builder id (PROVENANCE.md).
    builderId:
      v.CI_PROJECT_PATH && v.CI_RUNNER_ID
        ? `${server}/${v.CI_PROJECT_PATH}/-/runners/${v.CI_RUNNER_ID}`
        : `${server}/-/runners`,
    ...(v.CI_RUNNER_REVISION ? { builderVersion: { 'gitlab-runner': v.CI_RUNNER_REVISION } } : {}),
    buildType: GITLAB_BUILD_TYPE(
      runnerVersion && /^\d+\.\d+\.\d+$/.test(runnerVersion) ? runnerVersion : undefined,
    ),
    externalParameters: compact({
      source: project,
      entryPoint: v.CI_JOB_NAME,
      configPath: v.CI_CONFIG_PATH,
      ref: v.CI_COMMIT_REF_NAME,
      pipelineSource: v.CI_PIPELINE_SOURCE,
    }),
    internalParameters: compact({
      architecture: v.CI_RUNNER_EXECUTABLE_ARCH,
      job: v.CI_JOB_ID,
      pipeline: v.CI_PIPELINE_ID,
      pipelineUrl: url(v.CI_PIPELINE_URL),
      projectId: v.CI_PROJECT_ID,
      serverVersion: v.CI_SERVER_VERSION,
    }),
    invocationId:
      url(v.CI_JOB_URL) ?? (project && v.CI_JOB_ID ? `${project}/-/jobs/${v.CI_JOB_ID}` : v.CI_JOB_ID),
    startedOn: iso(v.CI_JOB_STARTED_AT),
    source: compact({
      repository: project,
      commit: commit(v.CI_COMMIT_SHA),
      ref: branchRef(
        v.CI_COMMIT_BRANCH ?? (v.CI_COMMIT_TAG ? undefined : v.CI_COMMIT_REF_NAME),
        v.CI_COMMIT_TAG,
      ),
    }),
    warnings: [],
  };
}

function buildkite(env: Env): CiInfo {
  const v = pick(env, 'buildkite');
  const hosted = v.BUILDKITE_COMPUTE_TYPE === 'hosted';
  return {
    name: 'buildkite',
    builderId: `https://buildkite.com/${v.BUILDKITE_ORGANIZATION_SLUG ?? '-'}/agents/${hosted ? 'hosted' : 'self-hosted'}`,
    ...(v.BUILDKITE_AGENT_VERSION
      ? { builderVersion: { 'buildkite-agent': v.BUILDKITE_AGENT_VERSION } }
      : {}),
    buildType: VOUCH_BUILD_TYPE('buildkite'),
    externalParameters: compact({
      organization: v.BUILDKITE_ORGANIZATION_SLUG,
      pipeline: v.BUILDKITE_PIPELINE_SLUG,
      step: v.BUILDKITE_STEP_KEY ?? v.BUILDKITE_LABEL,
      source: v.BUILDKITE_SOURCE,
      branch: v.BUILDKITE_BRANCH,
      tag: v.BUILDKITE_TAG,
    }),
    internalParameters: compact({
      buildId: v.BUILDKITE_BUILD_ID,
      buildNumber: int(v.BUILDKITE_BUILD_NUMBER),
      jobId: v.BUILDKITE_JOB_ID,
      retryCount: int(v.BUILDKITE_RETRY_COUNT),
      agentId: v.BUILDKITE_AGENT_ID,
      agentName: v.BUILDKITE_AGENT_NAME,
      computeType: v.BUILDKITE_COMPUTE_TYPE,
    }),
    invocationId: v.BUILDKITE_BUILD_URL
      ? `${url(v.BUILDKITE_BUILD_URL)}${v.BUILDKITE_JOB_ID ? `#${v.BUILDKITE_JOB_ID}` : ''}`
      : v.BUILDKITE_JOB_ID,
    source: compact({
      repository: url(v.BUILDKITE_REPO),
      commit: commit(v.BUILDKITE_COMMIT),
      ref: branchRef(v.BUILDKITE_BRANCH, v.BUILDKITE_TAG),
    }),
    warnings: [],
  };
}

function jenkins(env: Env): CiInfo {
  const v = pick(env, 'jenkins');
  return {
    name: 'jenkins',
    builderId: url(v.JENKINS_URL) ?? 'https://vouch.dev/builders/jenkins',
    buildType: VOUCH_BUILD_TYPE('jenkins'),
    externalParameters: compact({
      job: v.JOB_NAME,
      jobUrl: url(v.JOB_URL),
      branch: v.BRANCH_NAME ?? v.GIT_BRANCH,
      tag: v.TAG_NAME,
      changeId: v.CHANGE_ID,
    }),
    internalParameters: compact({
      buildId: v.BUILD_ID,
      buildNumber: int(v.BUILD_NUMBER),
      node: v.NODE_NAME,
      executor: int(v.EXECUTOR_NUMBER),
    }),
    invocationId: url(v.BUILD_URL),
    source: compact({
      repository: url(v.GIT_URL),
      commit: commit(v.GIT_COMMIT),
      ref: branchRef(v.CHANGE_ID ? undefined : (v.BRANCH_NAME ?? v.GIT_BRANCH), v.TAG_NAME),
    }),
    warnings: [],
  };
}

function circleci(env: Env): CiInfo {
  const v = pick(env, 'circleci');
  return {
    name: 'circleci',
    builderId: 'https://circleci.com/runners/cloud',
    buildType: VOUCH_BUILD_TYPE('circleci'),
    externalParameters: compact({
      project:
        v.CIRCLE_PROJECT_USERNAME && v.CIRCLE_PROJECT_REPONAME
          ? `${v.CIRCLE_PROJECT_USERNAME}/${v.CIRCLE_PROJECT_REPONAME}`
          : undefined,
      job: v.CIRCLE_JOB,
      branch: v.CIRCLE_BRANCH,
      tag: v.CIRCLE_TAG,
    }),
    internalParameters: compact({
      workflowId: v.CIRCLE_WORKFLOW_ID,
      workflowJobId: v.CIRCLE_WORKFLOW_JOB_ID,
      buildNumber: int(v.CIRCLE_BUILD_NUM),
      nodeIndex: int(v.CIRCLE_NODE_INDEX),
    }),
    invocationId: url(v.CIRCLE_BUILD_URL),
    source: compact({
      repository: url(v.CIRCLE_REPOSITORY_URL),
      commit: commit(v.CIRCLE_SHA1),
      ref: branchRef(v.CIRCLE_BRANCH, v.CIRCLE_TAG),
    }),
    warnings: [],
  };
}

function azure(env: Env): CiInfo {
  const v = pick(env, 'azure-pipelines');
  const collection = url(v.SYSTEM_COLLECTIONURI)?.replace(/\/+$/, '');
  // Claim a Microsoft-hosted agent only on the agent's own word.
  const hosted = v.AGENT_ISSELFHOSTED === '0' || v.AGENT_ISSELFHOSTED?.toLowerCase() === 'false';
  const project = v.SYSTEM_TEAMPROJECT ? encodeURIComponent(v.SYSTEM_TEAMPROJECT) : undefined;
  return {
    name: 'azure-pipelines',
    builderId: `${collection ?? 'https://dev.azure.com'}/_agents/${hosted ? 'microsoft-hosted' : 'self-hosted'}`,
    buildType: VOUCH_BUILD_TYPE('azure-pipelines'),
    externalParameters: compact({
      project: v.SYSTEM_TEAMPROJECT,
      definition: v.BUILD_DEFINITIONNAME,
      definitionId: v.SYSTEM_DEFINITIONID,
      reason: v.BUILD_REASON,
      sourceBranch: v.BUILD_SOURCEBRANCH,
    }),
    internalParameters: compact({
      buildId: v.BUILD_BUILDID,
      buildNumber: v.BUILD_BUILDNUMBER,
      jobId: v.SYSTEM_JOBID,
      jobAttempt: int(v.SYSTEM_JOBATTEMPT),
      agentName: v.AGENT_NAME,
      agentOs: v.AGENT_OS,
    }),
    invocationId:
      collection && project && v.BUILD_BUILDID
        ? `${collection}/${project}/_build/results?buildId=${v.BUILD_BUILDID}`
        : v.BUILD_BUILDID,
    source: compact({
      repository: url(v.BUILD_REPOSITORY_URI),
      commit: commit(v.BUILD_SOURCEVERSION),
      ref: v.BUILD_SOURCEBRANCH?.startsWith('refs/') ? v.BUILD_SOURCEBRANCH : undefined,
    }),
    warnings: [],
  };
}

function cloudBuild(env: Env): CiInfo {
  const v = pick(env, 'google-cloud-build');
  const location = v.LOCATION ?? 'global';
  return {
    name: 'google-cloud-build',
    builderId: GCB_BUILDER_ID,
    buildType: VOUCH_BUILD_TYPE('google-cloud-build'),
    externalParameters: compact({
      project: v.PROJECT_ID,
      location,
      trigger: v.TRIGGER_NAME,
      repository: v.REPO_FULL_NAME ?? v.REPO_NAME,
      branch: v.BRANCH_NAME,
      tag: v.TAG_NAME,
    }),
    internalParameters: compact({ buildId: v.BUILD_ID, projectNumber: v.PROJECT_NUMBER }),
    invocationId:
      v.PROJECT_ID && v.BUILD_ID
        ? `https://console.cloud.google.com/cloud-build/builds;region=${location}/${v.BUILD_ID}?project=${v.PROJECT_ID}`
        : v.BUILD_ID,
    source: compact({
      repository: url(v._HEAD_REPO_URL),
      commit: commit(v.COMMIT_SHA),
      ref: branchRef(v.BRANCH_NAME, v.TAG_NAME),
    }),
    warnings: [],
  };
}

function tekton(env: Env): CiInfo {
  const v = pick(env, 'tekton');
  return {
    name: 'tekton',
    builderId: TEKTON_DEFAULT_BUILDER_ID,
    buildType: VOUCH_BUILD_TYPE('tekton'),
    externalParameters: compact({
      pipelineRun: v.TEKTON_PIPELINERUN_NAME,
      taskRun: v.TEKTON_TASKRUN_NAME,
      namespace: v.TEKTON_NAMESPACE,
    }),
    internalParameters: compact({ taskRunUid: v.TEKTON_TASKRUN_UID }),
    invocationId: v.TEKTON_TASKRUN_UID
      ? `urn:tekton:taskrun:${v.TEKTON_NAMESPACE ?? 'default'}/${v.TEKTON_TASKRUN_NAME ?? ''}/${v.TEKTON_TASKRUN_UID}`
      : undefined,
    source: compact({
      repository: url(v.TEKTON_GIT_URL),
      commit: commit(v.TEKTON_GIT_COMMIT),
      ref: branchRef(v.TEKTON_GIT_REF),
    }),
    warnings: [],
  };
}

function local(): CiInfo {
  return {
    name: 'local',
    builderId: LOCAL_BUILDER_ID,
    buildType: VOUCH_BUILD_TYPE('local'),
    externalParameters: {},
    internalParameters: {},
    source: {},
    warnings: [],
  };
}

/**
 * Detects the CI platform from the environment (the order matters: Jenkins sets BUILD_ID,
 * which Cloud Build also uses). Falls back to `local`.
 */
export function detectCi(env: Env = process.env): CiInfo {
  if (env.GITHUB_ACTIONS === 'true') return github(env);
  if (env.GITLAB_CI === 'true') return gitlab(env);
  if (env.BUILDKITE === 'true') return buildkite(env);
  if (env.JENKINS_URL) return jenkins(env);
  if (env.CIRCLECI === 'true') return circleci(env);
  if (env.TF_BUILD?.toLowerCase() === 'true') return azure(env);
  if (env.TEKTON_TASKRUN_NAME || env.TEKTON_PIPELINERUN_NAME) return tekton(env);
  if (env.BUILD_ID && env.PROJECT_ID) return cloudBuild(env);
  return local();
}
