/**
 * Runs the built CLI (`bin/run.js`, compiled into dist/ by `npm run build`) as a subprocess
 * on the project's Node (node_modules/.bin/node), the way a user or pipeline runs it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NODE = path.join(ROOT, 'node_modules/.bin/node');
export const BIN = path.join(ROOT, 'bin/run.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Replace the environment entirely (PATH and HOME are kept unless given). */
  cleanEnv?: boolean;
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
}

export function runVouch(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const base = opts.cleanEnv ? { PATH: process.env.PATH, HOME: process.env.HOME } : process.env;
  const env = { ...base, ...opts.env } as Record<string, string>;
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** True when the text holds a Node stack-trace line (never allowed without DEBUG=vouch*). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .*\.(js|ts|mjs):\d+/m.test(text);
}
