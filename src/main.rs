//! The `rolecall` binary: parse arguments, dispatch to a subcommand, map the result to an exit code.

mod cli;

fn main() -> cli::Exit {
    cli::main()
}
