//! `cargo bench --bench plan` (placeholder while the benchmark is written).

fn main() {}
