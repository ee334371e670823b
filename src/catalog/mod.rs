//! What campaigns sell and say: offers and call scripts.

pub mod limits;
pub mod subject;
pub mod template;

pub use subject::Subject;
pub use template::{RenderError, Template};
