//! Load benchmark of `rolecall serve` (written below).
fn main() {}
