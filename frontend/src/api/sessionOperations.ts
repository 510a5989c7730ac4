// Signing up, logging in and out, keeping a session alive, and changing the password. The
// endpoint checks at most one password per HTTP request (a second one is refused with
// TOO_MANY_CREDENTIAL_CHECKS), so each of these goes alone, and signing up then logging in are two
// requests. A password travels only in these requests and is kept nowhere afterwards. Their types
// are generated, as those of operations.ts.

import { graphql } from '../generated';

/** The first use of a username creates the user and a first account (the sign-up). */
export const GET_ACCOUNT = graphql(`
  mutation GetAccount($username: String!, $password: String!) {
    get_account(username: $username, password: $password) {
      iban
      reason
    }
  }
`);

export const LOGIN = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      expires_at
      reason
    }
  }
`);

export const EMPLOYEE_LOGIN = graphql(`
  mutation EmployeeLogin($username: String!, $password: String!) {
    employee_login(username: $username, password: $password) {
      token
      expires_at
      reason
    }
  }
`);

/** For the session in the request, customer or employee: a new token with a later expiry. */
export const REFRESH_SESSION = graphql(`
  mutation RefreshSession {
    refresh_session {
      token
      expires_at
      reason
    }
  }
`);

/** Ends the session in the request, on every replica of the endpoint. */
export const LOGOUT = graphql(`
  mutation Logout {
    logout {
      success
      reason
    }
  }
`);

/** The customer's own password; the user's other sessions end, this one stays. */
export const CHANGE_PASSWORD = graphql(`
  mutation ChangePassword($old_password: String!, $new_password: String!) {
    change_password(old_password: $old_password, new_password: $new_password) {
      success
      reason
    }
  }
`);
