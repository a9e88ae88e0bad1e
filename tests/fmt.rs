//! `kiln fmt`: byte-for-byte Packer formatting.
