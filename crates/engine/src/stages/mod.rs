//! Stage implementations. The engine owns `initializing`, `connecting` and `completed`;
//! the Odoo stages plug in beside them through [`crate::StageHandler`].

mod completed;
mod connecting;
mod initializing;
mod script;
mod unavailable;

pub use completed::Completed;
pub use connecting::Connecting;
pub use initializing::Initializing;
pub use script::Script;
pub use unavailable::Unavailable;
