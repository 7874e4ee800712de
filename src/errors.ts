/**
 * One error model for the library and the CLI. Every failure vouch reports carries a stable
 * code, a one-line message saying what went wrong, a hint saying what to do, and the exit code
 * the CLI uses: 1 rejected by verification or policy, 2 bad input or usage, 3 registry,
 * network or I/O.
 */
export type ExitCode = 0 | 1 | 2 | 3;

export const EXIT = { ok: 0, rejected: 1, badInput: 2, io: 3 } as const;

export interface VouchErrorOptions {
  hint?: string;
  exitCode: ExitCode;
  cause?: unknown;
  /** Structured details for --json output; never put secrets here. */
  details?: Record<string, unknown>;
}

export class VouchError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: ExitCode;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: VouchErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VouchError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      exitCode: this.exitCode,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** The artifact or bundle was rejected by verification or policy (exit 1). */
export function rejected(code: string, message: string, hint?: string, cause?: unknown): VouchError {
  return new VouchError(code, message, { hint, exitCode: 1, cause });
}

/** The user gave input vouch cannot use (exit 2). */
export function badInput(code: string, message: string, hint?: string, cause?: unknown): VouchError {
  return new VouchError(code, message, { hint, exitCode: 2, cause });
}

/** A registry, network or filesystem operation failed (exit 3). */
export function ioFailure(code: string, message: string, hint?: string, cause?: unknown): VouchError {
  return new VouchError(code, message, { hint, exitCode: 3, cause });
}

export function isVouchError(err: unknown): err is VouchError {
  return err instanceof VouchError;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Maps anything thrown to a VouchError so that the CLI always prints one line and a
 * documented exit code. Unknown errors are I/O-class (3): they are never a pass.
 */
export function toVouchError(err: unknown): VouchError {
  if (err instanceof VouchError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = e instanceof Error ? e.message : String(err);
  if (code === 'ENOENT') {
    return badInput('FILE_NOT_FOUND', `no such file: ${e?.path ?? message}`, 'check the path', err);
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return badInput('FILE_ACCESS', `permission denied: ${e?.path ?? message}`, 'check file permissions', err);
  }
  if (code === 'EISDIR') {
    return badInput(
      'FILE_IS_DIRECTORY',
      `expected a file, got a directory: ${e?.path ?? message}`,
      undefined,
      err,
    );
  }
  if (code && NETWORK_CODES.has(code)) {
    return ioFailure(
      'NETWORK',
      `network error (${code}): ${message}`,
      'check the address and that the service is up',
      err,
    );
  }
  return ioFailure('INTERNAL', message || 'unexpected error', 'rerun with DEBUG=vouch* for details', err);
}
