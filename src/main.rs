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

fn main() -> cli::Exit {
    rolecall::internals::engine::set_memory_probe(|| ALLOCATOR.allocated() as u64);
    cli::main()
}
