//! The `rolecall` binary: parse arguments, dispatch to a subcommand, map the result to an exit code.

mod cli;

/// mimalloc underneath: a long-running `serve` that reloads a large org must give the old one's
/// memory back, which glibc's per-thread arenas do not.
///
/// Counts the bytes the process has allocated, so `--max-memory` is checked exactly and cheaply
/// at every script operation (the library is told through `set_memory_probe`). No limit is set
/// here: a failed allocation would abort instead of reporting the rule.
#[global_allocator]
static ALLOCATOR: cap::Cap<mimalloc::MiMalloc> = cap::Cap::new(mimalloc::MiMalloc, usize::MAX);

/// mimalloc's environment variable for how long freed memory is kept before it goes back to the
/// OS (1 s by default in mimalloc 3, and only when later allocator work gets round to it).
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// For a long-running server: memory freed by a reload (the old org, the file read) goes back
/// to the OS at once, so RSS stays flat across reloads instead of keeping a second org's worth.
/// The option can be set in code only through an `unsafe` call (this crate forbids them), and
/// mimalloc reads its environment variable when the process starts; so the process replaces
/// itself (same pid, arguments, descriptors and environment) with one that has
/// `MIMALLOC_PURGE_DELAY=0`. A variable the user set is left alone.
///
/// # Errors
/// When the process could not replace itself. It must not serve on then: a failed `exec` may
/// leave signal handling changed (`SIGPIPE` back to its default, which a closed connection
/// would then deliver), so the caller stops and says how to start it instead.
pub(crate) fn purge_freed_memory_promptly() -> Result<(), String> {
    if std::env::var_os(PURGE_DELAY).is_some() {
        return Ok(());
    }
    restart_with_purge_delay()
}

#[cfg(unix)]
fn restart_with_purge_delay() -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this program's own file to restart it: {e}"))?;
    // `exec` returns only when it failed.
    let failed = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(PURGE_DELAY, "0")
        .exec();
    Err(format!("cannot restart with {PURGE_DELAY}=0: {failed}"))
}

/// Elsewhere the server runs with mimalloc's default delay.
#[cfg(not(unix))]
fn restart_with_purge_delay() -> Result<(), String> {
    Ok(())
}

fn main() -> cli::Exit {
    rolecall::internals::engine::set_memory_probe(|| ALLOCATOR.allocated() as u64);
    cli::main()
}
