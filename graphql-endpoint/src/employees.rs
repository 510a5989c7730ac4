//! Employee login: employees are configured on the endpoint (`EMPLOYEE_USERNAME` with
//! `EMPLOYEE_PASSWORD` or its hash), never signed up. A login checks the password like a
//! customer's (throttled, see [`crate::logins`]) and then gets a session of role employee
//! ([`crate::sessions`]), which everything that lists other customers asks for.

use std::net::IpAddr;

use topology::reasons::Refusal;

use crate::logins::{Checked, Kind, Logins};
use crate::secrets::SecretError;

pub const LOGIN_REFUSED: &str = Refusal::InvalidEmployeeUsernameOrPassword.text();
pub const NOT_CONFIGURED: &str = Refusal::EmployeeLoginIsNotConfigured.text();

/// The one configured employee, by username and argon2 hash.
#[derive(Debug, Clone)]
pub struct Employee {
    pub username: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, Default)]
pub struct Employees {
    employee: Option<Employee>,
}

impl Employees {
    /// `employee` none: nobody can log in as employee.
    pub fn new(employee: Option<Employee>) -> Self {
        Self { employee }
    }

    /// `Ok(Ok(username))` for the right username and password, else the reason.
    pub async fn check(
        &self,
        logins: &Logins,
        username: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> Result<Result<String, String>, SecretError> {
        let Some(employee) = &self.employee else {
            return Ok(Err(NOT_CONFIGURED.into()));
        };
        // The hash is checked even for a wrong username, so timing tells nothing about it.
        let stored = (username == employee.username).then(|| employee.password_hash.clone());
        let checked = logins
            .check(Kind::Employee, username, password, stored, address)
            .await?;
        Ok(match checked {
            Checked::Matches => Ok(employee.username.clone()),
            other => Err(other.reason(LOGIN_REFUSED).unwrap_or_default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::hash_password;

    async fn employees() -> Employees {
        let hash = hash_password("correct horse".into()).await.expect("hash");
        Employees::new(Some(Employee {
            username: "employee".into(),
            password_hash: hash,
        }))
    }

    #[tokio::test]
    async fn the_right_password_and_only_it_is_accepted() {
        let (here, logins) = (employees().await, Logins::default());
        let check = |username: &'static str, password: &'static str| {
            let (here, logins) = (here.clone(), &logins);
            async move {
                here.check(logins, username, password, None)
                    .await
                    .expect("no error")
            }
        };
        assert_eq!(
            check("employee", "correct horse").await,
            Ok("employee".into())
        );
        assert_eq!(
            check("employee", "wrong horse").await,
            Err(LOGIN_REFUSED.into())
        );
        assert_eq!(
            check("someone", "correct horse").await,
            Err(LOGIN_REFUSED.into())
        );
        let nobody = Employees::new(None);
        let answer = nobody
            .check(&logins, "employee", "correct horse", None)
            .await;
        assert_eq!(answer.expect("no error"), Err(NOT_CONFIGURED.into()));
    }
}
