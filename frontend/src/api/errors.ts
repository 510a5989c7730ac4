// Turns what urql reports into one sentence for the user: the API's own messages when it
// answered, otherwise why it could not be reached.

export interface ReportedError {
  graphQLErrors: readonly { message: string }[];
  networkError?: Error | undefined;
}

export function describeError(error: ReportedError, endpoint: string): string {
  if (error.graphQLErrors.length > 0) {
    return error.graphQLErrors.map((e) => e.message).join('; ');
  }
  const cause = error.networkError?.message;
  return `no answer from the GraphQL endpoint at ${endpoint}${cause ? ` (${cause})` : ''}`;
}
