//! Kafka identities: on a cluster with SASL (what `scripts/infra.sh` starts), the tests act as
//! the admin of `scripts/infra.sh env`, a super user, and every service they start runs as its
//! own principal with exactly the rights the topology gives it, as in production.

use std::path::PathBuf;

use topology::Settings;

use crate::settings;

/// Where `scripts/infra.sh` keeps each principal's SCRAM password (`<principal>.password`).
const SECRETS_VARIABLE: &str = "OPEN_BANK_KAFKA_SECRETS";

/// The principals of the services, named as their binaries are.
const SERVICES: [&str; 4] = [
    "synchronizer",
    "command-handler",
    "projector",
    "graphql-endpoint",
];

fn secrets_dir() -> Option<PathBuf> {
    std::env::var_os(SECRETS_VARIABLE)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// The password of `principal`, or `None` on a cluster without SASL.
pub fn password_of(principal: &str) -> Option<String> {
    let path = secrets_dir()?.join(format!("{principal}.password"));
    let password = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    Some(password.trim_end().to_string())
}

/// The variables that make a service binary connect as its own principal (none on a cluster
/// without SASL, or for a program that is no service).
pub fn service_identity(program: &std::path::Path) -> Vec<(String, String)> {
    let Some(name) = program.file_name().and_then(|name| name.to_str()) else {
        return Vec::new();
    };
    let Some(principal) = SERVICES.iter().find(|service| **service == name) else {
        return Vec::new();
    };
    match password_of(principal) {
        Some(password) => vec![
            ("KAFKA_SASL_USERNAME".into(), (*principal).into()),
            ("KAFKA_SASL_PASSWORD".into(), password),
        ],
        None => Vec::new(),
    }
}

/// Whether the cluster of [`settings`] asks clients to authenticate.
pub fn cluster_is_secured() -> bool {
    secrets_dir().is_some()
}

/// [`settings`] with the identity `username` / `password` instead of the admin's.
pub fn settings_as(username: &str, password: &str) -> Settings {
    let mut settings = settings();
    let overrides = &mut settings.kafka.overrides;
    overrides.insert("sasl.username".into(), username.into());
    overrides.insert("sasl.password".into(), password.into());
    settings
}

/// [`settings`] without any identity: plain TLS, no SASL.
pub fn settings_anonymous() -> Settings {
    let mut settings = settings();
    let overrides = &mut settings.kafka.overrides;
    overrides.retain(|setting, _| !setting.starts_with("sasl."));
    if let Some(protocol) = overrides.get_mut("security.protocol") {
        if protocol.eq_ignore_ascii_case("SASL_SSL") {
            *protocol = "SSL".into();
        }
    }
    settings
}
