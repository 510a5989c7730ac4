// How a session goes along with a request, and how the endpoint says that it does not accept
// one. Decisions are made on the error's `extensions.code`, never on its message: the messages
// (`session expired`, `user is no owner of bank account`, …) are only shown.

/** HTTP: `Authorization: Bearer <token>`, nothing without a session. */
export function authorizationHeaders(token: string | null): Record<string, string> {
  return token === null ? {} : { Authorization: `Bearer ${token}` };
}

/**
 * WebSocket (graphql-transport-ws): a browser cannot set headers on a WebSocket, so the session
 * goes in the `connection_init` payload, under the same name; an empty payload without one.
 */
export function connectionInitPayload(token: string | null): Record<string, string> {
  return authorizationHeaders(token);
}

/** A missing, invalid, expired or ended session. */
export const UNAUTHENTICATED = 'UNAUTHENTICATED';
/** A session that may not do this: another customer's account, an employees-only field. */
export const FORBIDDEN = 'FORBIDDEN';
/** A stream that fell behind the live feed and missed records: read again, subscribe again. */
export const RESYNC = 'RESYNC';

interface CodedError {
  message: string;
  extensions?: unknown;
}

function codeOf(error: CodedError): unknown {
  const extensions = error.extensions;
  return typeof extensions === 'object' && extensions !== null
    ? (extensions as { code?: unknown }).code
    : undefined;
}

/** The message of the first error with `code`, or null when there is none. */
export function messageWithCode(
  errors: readonly CodedError[] | null | undefined,
  code: string,
): string | null {
  return errors?.find((error) => codeOf(error) === code)?.message ?? null;
}

/** What urql reports (CombinedError) or graphql-ws delivers: GraphQL errors, if any. */
export function graphQLErrorsOf(reported: unknown): readonly CodedError[] {
  if (Array.isArray(reported)) return reported.filter(isCodedError);
  if (typeof reported !== 'object' || reported === null) return [];
  const { graphQLErrors, errors } = reported as { graphQLErrors?: unknown; errors?: unknown };
  const list = Array.isArray(graphQLErrors) ? graphQLErrors : Array.isArray(errors) ? errors : [];
  return list.filter(isCodedError);
}

function isCodedError(value: unknown): value is CodedError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** The message of an UNAUTHENTICATED refusal in what was reported, or null. */
export function unauthenticatedMessage(reported: unknown): string | null {
  return messageWithCode(graphQLErrorsOf(reported), UNAUTHENTICATED);
}

/** Whether the endpoint ended a stream with RESYNC: it fell behind and missed records. */
export function isResync(reported: unknown): boolean {
  return messageWithCode(graphQLErrorsOf(reported), RESYNC) !== null;
}

/** Whether the endpoint answered FORBIDDEN: the session is fine, but not for this. */
export function isForbidden(reported: unknown): boolean {
  return messageWithCode(graphQLErrorsOf(reported), FORBIDDEN) !== null;
}
