import { describe, expect, it } from 'vitest';
import { describeError } from './api/errors';
import { interpretTransfer } from './transfers';

const endpoint = 'http://127.0.0.1:8181/graphql';
const uuid = '7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10';
const answered = (success: boolean, reason: string | null, ended = true) => ({
  data: { money_transfer: { uuid, success, reason, ended } },
});

describe('interpretTransfer', () => {
  it('is done when the saga completed', () => {
    expect(interpretTransfer(answered(true, null), endpoint)).toEqual({ kind: 'done' });
  });

  it('passes on the reason of a failed transfer', () => {
    const reason = 'insufficient funds would be below the limit of € -500,00';
    expect(interpretTransfer(answered(false, reason), endpoint)).toEqual({
      kind: 'refused',
      reason,
    });
  });

  it('treats a timeout as unknown, so a retry reuses the uuid', () => {
    const reason =
      'no answer within 10 s; the transfer may still end, ask transfer_status with this uuid';
    expect(interpretTransfer(answered(false, reason, false), endpoint).kind).toBe('unknown');
  });

  it('treats a refused request as refused and an unreachable endpoint as unknown', () => {
    const refused = { graphQLErrors: [{ message: 'amount should be positive' }] };
    expect(interpretTransfer({ error: refused }, endpoint)).toEqual({
      kind: 'refused',
      reason: 'amount should be positive',
    });
    const unreachable = { graphQLErrors: [], networkError: new Error('Failed to fetch') };
    expect(interpretTransfer({ error: unreachable }, endpoint)).toEqual({
      kind: 'unknown',
      reason: `no answer from the GraphQL endpoint at ${endpoint} (Failed to fetch)`,
    });
  });
});

describe('describeError', () => {
  it('joins the API’s messages', () => {
    const error = { graphQLErrors: [{ message: 'a' }, { message: 'b' }] };
    expect(describeError(error, endpoint)).toBe('a; b');
  });
});
