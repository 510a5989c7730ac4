import { describe, expect, it } from 'vitest';
import { credentialProblems } from './credentials';
import { newTransferId } from './ids';
import { parseSession } from './session';

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

describe('parseSession', () => {
  it('reads a stored session and ignores anything else', () => {
    const session = {
      username: 'username',
      password: 'password',
      token: '123',
      iban: 'NL66OPEN0000000000',
    };
    expect(parseSession(JSON.stringify(session))).toEqual(session);
    expect(parseSession(null)).toBeNull();
    expect(parseSession('{"username":"x"}')).toBeNull();
    expect(parseSession('][')).toBeNull();
  });

  it('does not read a session stored before the password was kept', () => {
    const older = { username: 'username', token: '123', iban: 'NL66OPEN0000000000' };
    expect(parseSession(JSON.stringify(older))).toBeNull();
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
