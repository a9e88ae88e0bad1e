//! Loading templates: variables, locals, data sources and blocks, evaluated in dependency order
//! and decoded into typed plugin configs.

pub mod body;
pub mod decode;

pub use body::{AttrValue, BlockValue, BodyValue};
