//! What campaigns sell and say: offers and call scripts.

mod growth;
pub mod limits;
pub mod subject;
pub mod survey;
pub mod template;

pub use subject::Subject;
pub use template::{Compiled, Mark, RenderError, Template};
