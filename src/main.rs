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
/// mimalloc reads its options once, at process start, before `main`; so the process replaces
/// itself (same pid, arguments, descriptors and environment) with one that has
/// `MIMALLOC_PURGE_DELAY=0`. A variable the user set is left alone, and if the exec fails the
/// server runs on with the default.
pub(crate) fn purge_freed_memory_promptly() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(PURGE_DELAY).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        // `exec` returns only when it failed.
        let failed = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(PURGE_DELAY, "0")
            .exec();
        log::debug!("could not restart with {PURGE_DELAY}=0: {failed}");
    }
}

fn main() -> cli::Exit {
    rolecall::internals::engine::set_memory_probe(|| ALLOCATOR.allocated() as u64);
    cli::main()
}
