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

/** What is wrong with a password change before asking the endpoint, which judges the strength. */
export function newPasswordProblems(oldPassword: string, newPassword: string): string[] {
  const problems: string[] = [];
  if (oldPassword === '') problems.push('enter your current password');
  if ([...newPassword].length < MIN_CREDENTIAL_CHARS) {
    problems.push(`the new password should be at least ${MIN_CREDENTIAL_CHARS} characters`);
  } else if (newPassword === oldPassword) {
    problems.push('the new password is the same as the current one');
  }
  return problems;
}
