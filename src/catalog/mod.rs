//! What campaigns sell and say: offers and call scripts.

pub mod template;

pub use template::Template;
