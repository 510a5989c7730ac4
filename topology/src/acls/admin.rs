//! The ACL calls of Kafka's admin API (KIP-140: CreateAcls, DescribeAcls, DeleteAcls).
//!
//! librdkafka has them but the Rust binding does not wrap them, so [`AclAdmin`] calls them
//! through `rdkafka::bindings`: every pointer it makes is destroyed before it returns, and every
//! string it reads is copied first.

use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use rdkafka::admin::AdminClient;
use rdkafka::bindings as rd;
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;

use super::{AclBinding, Operation, Pattern, Resource};
use crate::settings::KafkaSettings;

/// Which change [`AclAdmin::alter`] makes.
#[derive(Clone, Copy)]
enum Alteration {
    Create,
    Delete,
}

/// librdkafka's code for each of the ACL terms the contract declares, both ways.
trait Native: Sized + Copy + 'static {
    type Code: PartialEq;
    const ALL: &'static [Self];

    fn native(self) -> Self::Code;

    fn from_native(native: Self::Code) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|term| term.native() == native)
    }
}

impl Native for Operation {
    type Code = rd::rd_kafka_AclOperation_t;
    const ALL: &'static [Self] = &[
        Operation::All,
        Operation::Read,
        Operation::Write,
        Operation::Create,
        Operation::Describe,
        Operation::DescribeConfigs,
    ];

    fn native(self) -> Self::Code {
        use rd::rd_kafka_AclOperation_t as Op;
        match self {
            Operation::All => Op::RD_KAFKA_ACL_OPERATION_ALL,
            Operation::Read => Op::RD_KAFKA_ACL_OPERATION_READ,
            Operation::Write => Op::RD_KAFKA_ACL_OPERATION_WRITE,
            Operation::Create => Op::RD_KAFKA_ACL_OPERATION_CREATE,
            Operation::Describe => Op::RD_KAFKA_ACL_OPERATION_DESCRIBE,
            Operation::DescribeConfigs => Op::RD_KAFKA_ACL_OPERATION_DESCRIBE_CONFIGS,
        }
    }
}

impl Native for Resource {
    type Code = rd::rd_kafka_ResourceType_t;
    const ALL: &'static [Self] = &[Resource::Topic, Resource::Group, Resource::TransactionalId];

    fn native(self) -> Self::Code {
        use rd::rd_kafka_ResourceType_t as Type;
        match self {
            Resource::Topic => Type::RD_KAFKA_RESOURCE_TOPIC,
            Resource::Group => Type::RD_KAFKA_RESOURCE_GROUP,
            Resource::TransactionalId => Type::RD_KAFKA_RESOURCE_TRANSACTIONAL_ID,
        }
    }
}

impl Native for Pattern {
    type Code = rd::rd_kafka_ResourcePatternType_t;
    const ALL: &'static [Self] = &[Pattern::Literal, Pattern::Prefixed];

    fn native(self) -> Self::Code {
        use rd::rd_kafka_ResourcePatternType_t as Type;
        match self {
            Pattern::Literal => Type::RD_KAFKA_RESOURCE_PATTERN_LITERAL,
            Pattern::Prefixed => Type::RD_KAFKA_RESOURCE_PATTERN_PREFIXED,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AclError {
    #[error("creating the admin client: {0}")]
    Client(KafkaError),
    #[error("{call}: {message}")]
    Refused { call: &'static str, message: String },
    #[error("{call}: no answer within {timeout:?}")]
    Timeout {
        call: &'static str,
        timeout: Duration,
    },
    #[error("{0} contains a NUL byte")]
    Nul(String),
}

/// The ACL calls of the admin API.
pub struct AclAdmin {
    client: AdminClient<DefaultClientContext>,
}

impl KafkaSettings {
    /// An admin client for ACLs (the principal must be allowed to alter the cluster's ACLs:
    /// the synchronizer is a super user).
    pub fn acl_admin(&self) -> Result<AclAdmin, AclError> {
        Ok(AclAdmin {
            client: self.admin().map_err(AclError::Client)?,
        })
    }
}

const ERRSTR: usize = 512;

fn c_string(text: &str) -> Result<CString, AclError> {
    CString::new(text).map_err(|_| AclError::Nul(text.to_string()))
}

/// A copy of a C string librdkafka owns (empty for null).
///
/// # Safety
/// `text` is null or a NUL-terminated string that lives for the duration of the call.
unsafe fn owned(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    CStr::from_ptr(text).to_string_lossy().into_owned()
}

/// What librdkafka made for one call, destroyed when dropped.
struct Call {
    queue: *mut rd::rd_kafka_queue_t,
    options: *mut rd::rd_kafka_AdminOptions_t,
    event: *mut rd::rd_kafka_event_t,
}

impl Drop for Call {
    fn drop(&mut self) {
        // SAFETY: each pointer is null or was made by librdkafka for this call and is
        // destroyed once, here.
        unsafe {
            if !self.event.is_null() {
                rd::rd_kafka_event_destroy(self.event);
            }
            if !self.options.is_null() {
                rd::rd_kafka_AdminOptions_destroy(self.options);
            }
            if !self.queue.is_null() {
                rd::rd_kafka_queue_destroy(self.queue);
            }
        }
    }
}

/// Bindings (or filters) librdkafka made, destroyed when dropped.
struct Bindings(Vec<*mut rd::rd_kafka_AclBinding_t>);

impl Drop for Bindings {
    fn drop(&mut self) {
        for &binding in &self.0 {
            // SAFETY: made by rd_kafka_AclBinding_new / _AclBindingFilter_new, destroyed once.
            unsafe { rd::rd_kafka_AclBinding_destroy(binding) };
        }
    }
}

impl AclAdmin {
    fn rk(&self) -> *mut rd::rd_kafka_t {
        self.client.inner().native_ptr()
    }

    /// Starts a call of `op`: a queue for its answer and options with `timeout`.
    fn call(
        &self,
        op: rd::rd_kafka_admin_op_t,
        timeout: Duration,
        name: &'static str,
    ) -> Result<Call, AclError> {
        let mut errstr = [0 as c_char; ERRSTR];
        let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: rk is the live client's handle; errstr is a buffer of the size given.
        unsafe {
            let call = Call {
                queue: rd::rd_kafka_queue_new(self.rk()),
                options: rd::rd_kafka_AdminOptions_new(self.rk(), op),
                event: std::ptr::null_mut(),
            };
            let set = rd::rd_kafka_AdminOptions_set_request_timeout(
                call.options,
                millis,
                errstr.as_mut_ptr(),
                ERRSTR,
            );
            if set != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(AclError::Refused {
                    call: name,
                    message: owned(errstr.as_ptr()),
                });
            }
            Ok(call)
        }
    }

    /// Waits for the answer of `call` and checks its error.
    fn answer(call: &mut Call, timeout: Duration, name: &'static str) -> Result<(), AclError> {
        let millis = i32::try_from(timeout.as_millis().saturating_add(2_000)).unwrap_or(i32::MAX);
        // SAFETY: the queue lives as long as `call`; the event is destroyed with it.
        unsafe {
            call.event = rd::rd_kafka_queue_poll(call.queue, millis);
            if call.event.is_null() {
                return Err(AclError::Timeout {
                    call: name,
                    timeout,
                });
            }
            if rd::rd_kafka_event_error(call.event)
                != rd::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                return Err(AclError::Refused {
                    call: name,
                    message: owned(rd::rd_kafka_event_error_string(call.event)),
                });
            }
        }
        Ok(())
    }

    fn native_binding(
        acl: &AclBinding,
        filter: bool,
    ) -> Result<*mut rd::rd_kafka_AclBinding_t, AclError> {
        let (name, principal, host) = (
            c_string(&acl.name)?,
            c_string(&acl.principal)?,
            c_string("*")?,
        );
        let mut errstr = [0 as c_char; ERRSTR];
        let allow = rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
        // SAFETY: the strings outlive the call (librdkafka copies them); errstr is sized.
        let made = unsafe {
            if filter {
                rd::rd_kafka_AclBindingFilter_new(
                    acl.resource.native(),
                    name.as_ptr(),
                    acl.pattern.native(),
                    principal.as_ptr(),
                    host.as_ptr(),
                    acl.operation.native(),
                    allow,
                    errstr.as_mut_ptr(),
                    ERRSTR,
                )
            } else {
                rd::rd_kafka_AclBinding_new(
                    acl.resource.native(),
                    name.as_ptr(),
                    acl.pattern.native(),
                    principal.as_ptr(),
                    host.as_ptr(),
                    acl.operation.native(),
                    allow,
                    errstr.as_mut_ptr(),
                    ERRSTR,
                )
            }
        };
        if made.is_null() {
            // SAFETY: librdkafka wrote a NUL-terminated message into errstr.
            let message = unsafe { owned(errstr.as_ptr()) };
            return Err(AclError::Refused {
                call: "AclBinding",
                message,
            });
        }
        Ok(made)
    }

    /// Every ACL of `principal` (`User:<name>`) on the cluster, or of everyone.
    pub fn describe(
        &self,
        principal: Option<&str>,
        timeout: Duration,
    ) -> Result<Vec<AclBinding>, AclError> {
        let principal = principal.map(c_string).transpose()?;
        let mut errstr = [0 as c_char; ERRSTR];
        // SAFETY: the filter is made and destroyed here; librdkafka copies its strings.
        let filter = unsafe {
            rd::rd_kafka_AclBindingFilter_new(
                rd::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_ANY,
                std::ptr::null(),
                rd::rd_kafka_ResourcePatternType_t::RD_KAFKA_RESOURCE_PATTERN_ANY,
                principal.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
                std::ptr::null(),
                rd::rd_kafka_AclOperation_t::RD_KAFKA_ACL_OPERATION_ANY,
                rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
                errstr.as_mut_ptr(),
                ERRSTR,
            )
        };
        if filter.is_null() {
            // SAFETY: librdkafka wrote a NUL-terminated message into errstr.
            let message = unsafe { owned(errstr.as_ptr()) };
            return Err(AclError::Refused {
                call: "DescribeAcls",
                message,
            });
        }
        let filter = Bindings(vec![filter]);
        let op = rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBEACLS;
        let mut call = self.call(op, timeout, "DescribeAcls")?;
        // SAFETY: rk, the filter, the options and the queue are live for the call.
        unsafe { rd::rd_kafka_DescribeAcls(self.rk(), filter.0[0], call.options, call.queue) };
        Self::answer(&mut call, timeout, "DescribeAcls")?;
        let mut found = Vec::new();
        // SAFETY: the result and its bindings belong to the event, alive until `call` drops;
        // every string is copied before that.
        unsafe {
            let result = rd::rd_kafka_event_DescribeAcls_result(call.event);
            if result.is_null() {
                return Ok(found);
            }
            let mut count = 0usize;
            let acls = rd::rd_kafka_DescribeAcls_result_acls(result, &mut count);
            for index in 0..count {
                let acl = *acls.add(index);
                if rd::rd_kafka_AclBinding_permission_type(acl)
                    != rd::rd_kafka_AclPermissionType_t::RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW
                {
                    continue;
                }
                let (Some(resource), Some(pattern), Some(operation)) = (
                    Resource::from_native(rd::rd_kafka_AclBinding_restype(acl)),
                    Pattern::from_native(rd::rd_kafka_AclBinding_resource_pattern_type(acl)),
                    Operation::from_native(rd::rd_kafka_AclBinding_operation(acl)),
                ) else {
                    continue;
                };
                if owned(rd::rd_kafka_AclBinding_host(acl)) != "*" {
                    continue;
                }
                found.push(AclBinding {
                    principal: owned(rd::rd_kafka_AclBinding_principal(acl)),
                    resource,
                    pattern,
                    name: owned(rd::rd_kafka_AclBinding_name(acl)),
                    operation,
                });
            }
        }
        found.sort();
        Ok(found)
    }

    /// Creates `acls` (creating one that exists changes nothing).
    pub fn create(&self, acls: &[AclBinding], timeout: Duration) -> Result<(), AclError> {
        self.alter(acls, Alteration::Create, timeout)
    }

    /// Deletes exactly `acls`.
    pub fn delete(&self, acls: &[AclBinding], timeout: Duration) -> Result<(), AclError> {
        self.alter(acls, Alteration::Delete, timeout)
    }

    /// One CreateAcls or DeleteAcls call for all of `acls`; the first binding refused is the
    /// error.
    fn alter(
        &self,
        acls: &[AclBinding],
        alteration: Alteration,
        timeout: Duration,
    ) -> Result<(), AclError> {
        if acls.is_empty() {
            return Ok(());
        }
        let (op, name, filters) = match alteration {
            Alteration::Create => (
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_CREATEACLS,
                "CreateAcls",
                false,
            ),
            Alteration::Delete => (
                rd::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEACLS,
                "DeleteAcls",
                true,
            ),
        };
        let mut bindings = Bindings(Vec::with_capacity(acls.len()));
        for acl in acls {
            bindings.0.push(Self::native_binding(acl, filters)?);
        }
        let mut call = self.call(op, timeout, name)?;
        let (array, count) = (bindings.0.as_mut_ptr(), bindings.0.len());
        // SAFETY: the array and its bindings are live for the call; librdkafka copies them.
        unsafe {
            match alteration {
                Alteration::Create => {
                    rd::rd_kafka_CreateAcls(self.rk(), array, count, call.options, call.queue)
                }
                Alteration::Delete => {
                    rd::rd_kafka_DeleteAcls(self.rk(), array, count, call.options, call.queue)
                }
            }
        };
        Self::answer(&mut call, timeout, name)?;
        // SAFETY: the results belong to the event, alive until `call` drops; their messages
        // are copied before that.
        let errors: Vec<*const rd::rd_kafka_error_t> = unsafe {
            let mut count = 0usize;
            match alteration {
                Alteration::Create => {
                    let result = rd::rd_kafka_event_CreateAcls_result(call.event);
                    let results = rd::rd_kafka_CreateAcls_result_acls(result, &mut count);
                    (0..count)
                        .map(|index| rd::rd_kafka_acl_result_error(*results.add(index)))
                        .collect()
                }
                Alteration::Delete => {
                    let result = rd::rd_kafka_event_DeleteAcls_result(call.event);
                    let responses = rd::rd_kafka_DeleteAcls_result_responses(result, &mut count);
                    (0..count)
                        .map(|index| {
                            rd::rd_kafka_DeleteAcls_result_response_error(*responses.add(index))
                        })
                        .collect()
                }
            }
        };
        for (acl, error) in acls.iter().zip(errors) {
            if !error.is_null() {
                // SAFETY: the error belongs to the event, which `call` still holds.
                let message = unsafe { owned(rd::rd_kafka_error_string(error)) };
                return Err(AclError::Refused {
                    call: name,
                    message: format!("{acl}: {message}"),
                });
            }
        }
        Ok(())
    }
}
