//! Parsing: the spec suite, the corpus, diagnostics and robustness.
