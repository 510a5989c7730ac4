import { describe, expect, it } from 'vitest';
import {
  authorizationHeaders,
  connectionInitPayload,
  graphQLErrorsOf,
  isForbidden,
  unauthenticatedMessage,
} from './auth';

describe('authorizationHeaders', () => {
  it('carry the token as a bearer token, and nothing without a session', () => {
    expect(authorizationHeaders('abc.def.ghi')).toEqual({ Authorization: 'Bearer abc.def.ghi' });
    expect(authorizationHeaders(null)).toEqual({});
  });
});

describe('connectionInitPayload', () => {
  it('carries the session as the endpoint reads it over a WebSocket', () => {
    expect(connectionInitPayload('abc')).toEqual({ Authorization: 'Bearer abc' });
    expect(connectionInitPayload(null)).toEqual({});
  });
});

const unauthenticated = { message: 'session expired', extensions: { code: 'UNAUTHENTICATED' } };
const forbidden = {
  message: 'user is no owner of bank account',
  extensions: { code: 'FORBIDDEN' },
};

describe('unauthenticatedMessage', () => {
  it('finds the UNAUTHENTICATED error by its code, in what urql reports', () => {
    const error = { graphQLErrors: [{ message: 'boom' }, unauthenticated] };
    expect(unauthenticatedMessage(error)).toBe('session expired');
  });

  it('finds it in a subscription payload and in graphql-ws error lists too', () => {
    expect(unauthenticatedMessage({ data: null, errors: [unauthenticated] })).toBe(
      'session expired',
    );
    expect(unauthenticatedMessage([unauthenticated])).toBe('session expired');
  });

  it('goes by the code, not by the words', () => {
    expect(unauthenticatedMessage({ graphQLErrors: [{ message: 'session expired' }] })).toBeNull();
    expect(
      unauthenticatedMessage({
        graphQLErrors: [{ message: 'anything', extensions: { code: 'UNAUTHENTICATED' } }],
      }),
    ).toBe('anything');
  });

  it('is null for other errors and for no error', () => {
    expect(unauthenticatedMessage(undefined)).toBeNull();
    expect(unauthenticatedMessage({ graphQLErrors: [forbidden] })).toBeNull();
    expect(
      unauthenticatedMessage({ graphQLErrors: [], networkError: new Error('connection refused') }),
    ).toBeNull();
    expect(unauthenticatedMessage(new Event('error'))).toBeNull();
  });
});

describe('isForbidden', () => {
  it('tells a refusal for this account or field from a refused session', () => {
    expect(isForbidden({ graphQLErrors: [forbidden] })).toBe(true);
    expect(isForbidden({ graphQLErrors: [unauthenticated] })).toBe(false);
    expect(isForbidden(null)).toBe(false);
  });
});

describe('graphQLErrorsOf', () => {
  it('keeps only what looks like a GraphQL error', () => {
    expect(graphQLErrorsOf([forbidden, 'text', null])).toEqual([forbidden]);
    expect(graphQLErrorsOf({ graphQLErrors: 'no' })).toEqual([]);
  });
});
