//! Decoding an evaluated body into a typed config with serde.
