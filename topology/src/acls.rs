//! Kafka ACLs: the bindings the contract declares (`contract::acls`), and [`AclAdmin`], which
//! reads and changes them on a cluster.

pub use contract::acls::*;

mod admin;

pub use admin::{AclAdmin, AclError};
