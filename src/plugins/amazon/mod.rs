//! Amazon's plugins: the `amazon-ebs` builder and the `amazon-ami` data source, with the
//! settings they share.

pub mod ami;
pub mod cleanup;
pub mod client;
pub mod common;
pub mod ebs;
pub mod lookup;
pub mod run;
mod session;
pub mod types;
