/** Human rendering of verification verdicts, shared by the verify commands. */
import type { BundleReport, Check, Verdict } from '../src/verify/index.js';

const tick = (ok: boolean) => (ok ? '✓' : '✗');

function checkLine(c: Check): string {
  const field = !c.ok && c.field ? ` [${c.field}]` : '';
  return `${tick(c.ok)} ${c.name}: ${c.detail}${field}`;
}

function bundleLines(b: BundleReport): string[] {
  const head = [
    b.kind ?? 'bundle',
    b.predicateType ? `predicate ${b.predicateType}` : '',
    b.signer ? `signer ${b.signer}` : '',
    b.issuer ? `issuer ${b.issuer}` : '',
  ].filter(Boolean);
  const lines = [`${tick(b.ok)} ${b.source}: ${head.join(', ')}`];
  for (const t of b.timestamps ?? []) lines.push(`    time ${t.time} (${t.source})`);
  const shown = b.ok ? [] : b.checks.filter((c) => !c.ok);
  for (const c of shown) lines.push(`    ${checkLine(c)}`);
  if (!b.ok && shown.length === 0 && b.error) lines.push(`    ✗ ${b.error}`);
  return lines;
}

export function renderVerdict(v: Verdict): string {
  const lines = [`${tick(v.ok)} ${v.subject}  ${v.ok ? 'VERIFIED' : 'REJECTED'}`];
  lines.push(`  digest: ${v.digest}`);
  lines.push(`  SLSA build level: ${v.slsaLevel}${v.levelReason ? ` (not higher: ${v.levelReason})` : ''}`);
  lines.push(
    `  predicate types: ${v.predicateTypes.length ? v.predicateTypes.join(', ') : '(none verified)'}`,
  );
  if (v.bundles.length) {
    lines.push(`  bundles (${v.bundles.length}):`);
    for (const b of v.bundles) lines.push(...bundleLines(b).map((l) => `    ${l}`));
  } else lines.push('  bundles: none found');
  lines.push('  checks:');
  for (const c of v.checks) lines.push(`    ${checkLine(c)}`);
  if (!v.ok) lines.push(`  reason: ${v.reason}`);
  return lines.join('\n');
}

export function renderVerdicts(vs: Verdict[]): string {
  return vs.map(renderVerdict).join('\n\n');
}

export function summaryLine(vs: Verdict[]): string {
  const ok = vs.filter((v) => v.ok).length;
  if (vs.length === 1)
    return vs[0]!.ok ? `verified ${vs[0]!.subject}` : `rejected ${vs[0]!.subject}: ${vs[0]!.reason}`;
  return `verified ${ok} of ${vs.length}${ok < vs.length ? `; first rejection: ${vs.find((v) => !v.ok)!.subject}: ${vs.find((v) => !v.ok)!.reason}` : ''}`;
}
