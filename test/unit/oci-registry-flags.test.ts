import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { registryOptions, resetPasswordStdinForTests } from '../../cli/flags/registry.js';

beforeEach(() => resetPasswordStdinForTests());

describe('registryOptions', () => {
  it('maps flags to options and reads the password from stdin once, trimming the newline', async () => {
    const stdin = Readable.from([Buffer.from('pa ss\n')]);
    const opts = await registryOptions(
      { 'plain-http': true, 'registry-username': 'me', 'registry-password-stdin': true },
      stdin,
    );
    expect(opts).toEqual({ plainHttp: true, username: 'me', password: 'pa ss' });
    // a second call in the same process shares the value (stdin is read once)
    expect(
      (
        await registryOptions(
          { 'registry-username': 'me', 'registry-password-stdin': true },
          Readable.from([]),
        )
      ).password,
    ).toBe('pa ss');
  });
  it('trims a CRLF too', async () => {
    expect(
      (
        await registryOptions(
          { 'registry-username': 'me', 'registry-password-stdin': true },
          Readable.from(['tok\r\n']),
        )
      ).password,
    ).toBe('tok');
  });
  it('no flags → no options', async () => {
    expect(await registryOptions({})).toEqual({});
  });
  it('username without --registry-password-stdin, or the reverse, is bad input', async () => {
    await expect(registryOptions({ 'registry-username': 'me' })).rejects.toMatchObject({
      code: 'BAD_CREDENTIALS',
      exitCode: 2,
    });
    await expect(
      registryOptions({ 'registry-password-stdin': true }, Readable.from(['x'])),
    ).rejects.toMatchObject({ code: 'BAD_CREDENTIALS', exitCode: 2 });
  });
  it('an empty password or unreadable CA file is bad input', async () => {
    await expect(
      registryOptions({ 'registry-username': 'me', 'registry-password-stdin': true }, Readable.from(['\n'])),
    ).rejects.toMatchObject({ exitCode: 2 });
    await expect(registryOptions({ 'registry-ca': '/nonexistent/ca.pem' })).rejects.toMatchObject({
      code: 'BAD_CA_FILE',
      exitCode: 2,
    });
  });
});
