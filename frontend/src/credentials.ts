// The checks the GraphQL endpoint makes on a login, made in the browser first so the user
// learns at once; the messages are the endpoint's own.

export const MIN_CREDENTIAL_CHARS = 8;

export function credentialProblems(username: string, password: string): string[] {
  const problems: string[] = [];
  if ([...username].length < MIN_CREDENTIAL_CHARS) {
    problems.push(`username should be at least ${MIN_CREDENTIAL_CHARS} characters`);
  } else if (username.trim() !== username) {
    problems.push('username should not start or end with spaces nor contain control characters');
  }
  if ([...password].length < MIN_CREDENTIAL_CHARS) {
    problems.push(`password should be at least ${MIN_CREDENTIAL_CHARS} characters`);
  }
  return problems;
}
