//! Integration tests: one binary, modules by area.

mod cli;
mod engine;
mod hostile;
mod rules;
mod support;
