import { describe, expect, it } from 'vitest';
import { credentialProblems, newPasswordProblems } from './credentials';
import { newTransferId } from './ids';

describe('credentialProblems', () => {
  it('asks for at least 8 characters each, in the endpoint’s words', () => {
    expect(credentialProblems('short', 'tiny')).toEqual([
      'username should be at least 8 characters',
      'password should be at least 8 characters',
    ]);
    expect(credentialProblems('longenough', 'secret-enough')).toEqual([]);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(credentialProblems('🙂🙂🙂🙂', 'password')).toEqual([
      'username should be at least 8 characters',
    ]);
  });

  it('refuses a username with spaces around it', () => {
    expect(credentialProblems(' username ', 'password')).toEqual([
      'username should not start or end with spaces nor contain control characters',
    ]);
  });
});

describe('newPasswordProblems', () => {
  it('asks for the current password and a new one of at least 8 characters', () => {
    expect(newPasswordProblems('', 'short')).toEqual([
      'enter your current password',
      'the new password should be at least 8 characters',
    ]);
    expect(newPasswordProblems('violet harbor', 'lantern meadow quartz')).toEqual([]);
  });

  it('refuses a new password that is the old one', () => {
    expect(newPasswordProblems('violet harbor', 'violet harbor')).toEqual([
      'the new password is the same as the current one',
    ]);
  });
});

describe('newTransferId', () => {
  it('is a version 4 UUID', () => {
    expect(newTransferId()).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('sets the version and variant bits whatever the random bytes', () => {
    expect(newTransferId((bytes) => bytes.fill(0xff))).toBe('ffffffff-ffff-4fff-bfff-ffffffffffff');
    expect(newTransferId((bytes) => bytes.fill(0))).toBe('00000000-0000-4000-8000-000000000000');
  });
});
