/**
 * Decision records: one JSON line per verify or promote decision, appended to a log an auditor
 * can replay. Each line is written with O_APPEND in a single write, so concurrent writers
 * (several vouch processes sharing one log) never interleave within a line.
 */
import { open } from 'node:fs/promises';
import { ioFailure, toVouchError } from '../errors.js';
import type { LoadedPolicy } from './types.js';

export interface DecisionRecord {
  timestamp: string;
  subject: string;
  resource: string;
  action: 'verify' | 'promote';
  result: 'ALLOW' | 'DENY';
  policy: { uri: string; sha256?: string };
  reason: string;
  context: {
    slsaLevel?: number;
    levelReason?: string;
    predicateTypes?: string[];
    failedChecks?: { name: string; detail: string; field?: string }[];
    inputAttestations?: { digest: string; predicateType: string }[];
    destination?: string;
    [k: string]: unknown;
  };
}

/** The verdict fields a decision needs (a Verdict from src/verify fits). */
export interface DecisionInput {
  ok: boolean;
  subject: string;
  digest: string;
  slsaLevel: number;
  levelReason: string;
  predicateTypes: string[];
  checks: { name: string; ok: boolean; detail: string; field?: string }[];
  reason: string;
  inputAttestations?: { digest: string; predicateType: string }[];
}

export function decisionRecord(
  verdict: DecisionInput,
  opts: {
    action?: 'verify' | 'promote';
    policy?: LoadedPolicy | { uri: string; sha256?: string };
    destination?: string;
    now?: Date;
  } = {},
): DecisionRecord {
  const failed = verdict.checks
    .filter((c) => !c.ok)
    .map((c) => ({ name: c.name, detail: c.detail, ...(c.field ? { field: c.field } : {}) }));
  const context: DecisionRecord['context'] = {
    slsaLevel: verdict.slsaLevel,
    levelReason: verdict.levelReason,
    predicateTypes: verdict.predicateTypes,
    failedChecks: failed,
  };
  if (verdict.inputAttestations) context.inputAttestations = verdict.inputAttestations;
  if (opts.destination) context.destination = opts.destination;
  return {
    timestamp: (opts.now ?? new Date()).toISOString(),
    subject: verdict.digest,
    resource: verdict.subject,
    action: opts.action ?? 'verify',
    result: verdict.ok ? 'ALLOW' : 'DENY',
    policy: opts.policy
      ? { uri: opts.policy.uri, ...(opts.policy.sha256 ? { sha256: opts.policy.sha256 } : {}) }
      : { uri: 'inline:flags' },
    reason: verdict.reason,
    context,
  };
}

/** Appends one record as one line (O_APPEND, one write call). */
export async function appendDecision(file: string, record: DecisionRecord): Promise<void> {
  const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
  let fh;
  try {
    fh = await open(file, 'a', 0o644);
    const { bytesWritten } = await fh.write(line, 0, line.length);
    if (bytesWritten !== line.length)
      throw new Error(`short write (${bytesWritten} of ${line.length} bytes)`);
  } catch (e) {
    const ve = toVouchError(e);
    throw ioFailure(
      'DECISION_LOG',
      `cannot append to decision log ${file}: ${ve.message}`,
      'check the --decision-log path and permissions',
      e,
    );
  } finally {
    await fh?.close();
  }
}
