//! kiln's integration tests: one binary, driving the real `kiln` executable and the public API.

mod amazon;
mod build;
mod cli;
mod config;
mod eval;
mod fmt;
mod pipeline;
mod plan;
mod registry;
mod ssh;
mod syntax;
mod test;
