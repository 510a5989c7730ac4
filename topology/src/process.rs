//! Process life cycle shared by every service.

/// Resolves on SIGINT or SIGTERM. If a handler cannot be installed the service still runs; it
/// then just cannot be stopped gracefully by that signal.
pub async fn stop_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

/// User plus system CPU time process `pid` has used so far, in seconds (Linux `/proc`); `None`
/// for a process that is gone or a system without `/proc`. For benchmarks that say which
/// process limits a figure.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // Linux counts CPU time in ticks of 1/100 s (USER_HZ) in /proc.
    Some(ticks as f64 / 100.0)
}

/// `NAME=PID`, as benchmarks take the processes to watch (`--cpu-of endpoint=1234`).
pub fn named_pid(text: &str) -> Result<(String, u32), String> {
    let (name, pid) = text.split_once('=').ok_or("give NAME=PID")?;
    let pid = pid
        .parse()
        .map_err(|_| format!("{pid} is not a process id"))?;
    Ok((name.to_string(), pid))
}

/// Allocations of at least this size get their own memory map, given back when freed.
const OWN_MAP_BYTES: i32 = 1 << 20;

/// Makes glibc's malloc give large blocks back to the system when they are freed.
///
/// By default glibc raises its mmap threshold to the size of the largest block freed so far
/// (up to 32 MiB), after which such blocks come from the arena of the thread that asked and
/// stay there once freed; every thread that ever held one (argon2's 19 MiB per hash, on
/// changing blocking threads) keeps that much resident. Measured on
/// the GraphQL endpoint under 200 transfers/s with 1,000 subscriptions: 430–580 MB resident
/// with the default, 43 MB with a fixed threshold. Call it first thing in `main`. (The command
/// handler and the projector do not yet: their memory is their state, and how this setting
/// changes it is not measured.)
pub fn give_large_allocations_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets a parameter of the allocator, under glibc's own lock; a
        // parameter glibc refuses leaves the default, which is merely less frugal.
        let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, OWN_MAP_BYTES) };
        if accepted == 0 {
            tracing::warn!(
                "glibc refused a fixed mmap threshold; freed large blocks may stay resident"
            );
        }
    }
}

/// Gives what malloc holds free back to the system, e.g. after a replay: glibc keeps freed
/// memory for reuse, so the replay's peak (records queued by librdkafka) would otherwise stay
/// resident for the life of the process.
pub fn give_freed_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only returns free memory of glibc's own arenas to the system,
        // under their locks; it has no effect on allocated memory.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}
