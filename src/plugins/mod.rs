//! kiln's built-in plugins: their typed configs.
