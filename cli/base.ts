import { Command, Flags } from '@oclif/core';
import { toVouchError, VouchError, type ExitCode } from '../src/errors.js';

const DEBUG = /(^|,)\s*vouch\*?/.test(process.env.DEBUG ?? '');

/**
 * Base for every vouch command: owns --json, rendering and the error contract
 * (one line of what went wrong, one line of what to do, the documented exit code,
 * no stack trace unless DEBUG=vouch*).
 */
export abstract class VouchCommand extends Command {
  static override baseFlags = {
    json: Flags.boolean({ description: 'Print machine-readable JSON on stdout.', default: false }),
  };

  protected json = false;

  override async init(): Promise<void> {
    await super.init();
    this.json = this.argv.includes('--json');
  }

  /** Prints data as JSON (with --json) or the human rendering, on stdout. */
  protected render<T>(data: T, human: (d: T) => string): void {
    if (this.json) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
    else {
      const text = human(data);
      if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    }
  }

  /** A one-line note for humans on stderr (suppressed with --json). */
  protected note(line: string): void {
    if (!this.json) process.stderr.write(line + '\n');
  }

  /** Sets the process exit code without throwing, so rendered output is flushed first. */
  protected setExit(code: ExitCode): void {
    process.exitCode = code;
  }

  override async catch(err: Error & { oclif?: { exit?: number } }): Promise<void> {
    let ve: VouchError;
    if (err.oclif && typeof err.oclif.exit === 'number' && !(err instanceof VouchError)) {
      // oclif parse and usage errors (unknown flag, missing argument) are bad input.
      if (err.oclif.exit === 0) return;
      ve = new VouchError('USAGE', usageMessage(err.message), {
        exitCode: 2,
        hint: `see: vouch ${this.id?.replaceAll(':', ' ') ?? ''} --help`.trimEnd(),
      });
    } else ve = toVouchError(err);
    if (this.json) process.stdout.write(JSON.stringify({ error: ve.toJSON() }, null, 2) + '\n');
    process.stderr.write(`vouch: ${firstLine(ve.message)}\n`);
    if (ve.hint) process.stderr.write(`hint: ${firstLine(ve.hint)}\n`);
    if (DEBUG) process.stderr.write(`${err.stack ?? ''}\n${causeChain(err)}`);
    process.exitCode = ve.exitCode;
  }
}

/** oclif spreads a parse error over several lines ("Missing 1 required arg:\nsubject  desc\nSee more help…"). */
function usageMessage(message: string): string {
  // oclif appends a paragraph about multi-value flags; it is not what went wrong.
  const lines = message
    .split(/\n\s*Note:/)[0]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^see more help/i.test(l));
  return (
    lines
      .join(' ')
      .replace(/:\s+/, ': ')
      .replace(/\s{2,}/g, ' ') || 'invalid usage'
  );
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function causeChain(err: unknown): string {
  let out = '';
  let c = (err as { cause?: unknown }).cause;
  while (c) {
    out += `caused by: ${(c as Error).stack ?? String(c)}\n`;
    c = (c as { cause?: unknown }).cause;
  }
  return out;
}
