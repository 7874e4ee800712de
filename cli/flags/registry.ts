/**
 * Registry flags shared by every command that talks to a registry, and their mapping to
 * RegistryOptions. Passwords only come from stdin: a password flag would sit in shell
 * history and in the process list.
 */
import { Flags } from '@oclif/core';
import { accessSync, constants } from 'node:fs';
import type { Readable } from 'node:stream';
import { badInput } from '../../src/errors.js';
import type { RegistryOptions } from '../../src/oci/types.js';

export const registryFlags = {
  'plain-http': Flags.boolean({
    description: 'Talk to registries over plain HTTP instead of HTTPS (local or test registries only).',
    default: false,
  }),
  'registry-ca': Flags.string({
    description: 'PEM file with CA certificates to trust for registry TLS (private CA).',
    helpValue: 'FILE',
  }),
  'registry-username': Flags.string({
    description: 'Registry username (needs --registry-password-stdin); overrides the Docker config.',
    helpValue: 'USER',
  }),
  'registry-password-stdin': Flags.boolean({
    description: 'Read the registry password (or token) from standard input.',
    default: false,
  }),
};

export interface RegistryFlagValues {
  'plain-http'?: boolean;
  'registry-ca'?: string;
  'registry-username'?: string;
  'registry-password-stdin'?: boolean;
}

let stdinPassword: Promise<string> | undefined;

/** Reads stdin once per process (later calls share the result); trims one trailing newline. */
function readPasswordOnce(stdin: Readable): Promise<string> {
  stdinPassword ??= (async () => {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stdin as AsyncIterable<Buffer | string>) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      total += b.length;
      if (total > 64 * 1024)
        throw badInput(
          'BAD_PASSWORD',
          'the password on stdin is longer than 64 KiB',
          'pipe only the password to --registry-password-stdin',
        );
      chunks.push(b);
    }
    return Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  })();
  return stdinPassword;
}

/** Builds RegistryOptions from the flags; inconsistent or unusable flags → bad input (exit 2). */
export async function registryOptions(
  flags: RegistryFlagValues & { readonly [flag: string]: unknown },
  stdin: Readable = process.stdin,
): Promise<RegistryOptions> {
  const opts: RegistryOptions = {};
  if (flags['plain-http']) opts.plainHttp = true;
  const ca = flags['registry-ca'];
  if (ca !== undefined) {
    try {
      accessSync(ca, constants.R_OK);
    } catch {
      throw badInput(
        'BAD_CA_FILE',
        `cannot read the CA file ${ca}`,
        'pass a readable PEM file to --registry-ca',
      );
    }
    opts.caFile = ca;
  }
  const user = flags['registry-username'];
  const fromStdin = flags['registry-password-stdin'] === true;
  if (user !== undefined && !fromStdin) {
    throw badInput(
      'BAD_CREDENTIALS',
      '--registry-username needs --registry-password-stdin',
      'pipe the password: echo "$PASS" | vouch … --registry-username USER --registry-password-stdin',
    );
  }
  if (fromStdin && user === undefined) {
    throw badInput(
      'BAD_CREDENTIALS',
      '--registry-password-stdin needs --registry-username',
      'name the user with --registry-username USER',
    );
  }
  if (user !== undefined) {
    if (user === '')
      throw badInput('BAD_CREDENTIALS', '--registry-username is empty', 'pass the registry user name');
    const password = await readPasswordOnce(stdin);
    if (password === '')
      throw badInput(
        'BAD_CREDENTIALS',
        'no password on stdin for --registry-password-stdin',
        'pipe the password into vouch',
      );
    opts.username = user;
    opts.password = password;
  }
  return opts;
}

/** For tests: forget the stdin password read by an earlier call. */
export function resetPasswordStdinForTests(): void {
  stdinPassword = undefined;
}
