//! outcall: an outbound-call campaign scheduler for telemarketing teams.
//!
//! The layers (docs/architecture.md has the whole picture): `app` wires the pieces together;
//! `http` (the edge) and `jobs` (background work) call the operations in `service`; operations
//! use `store` (the storage seam) and the domain modules (`campaigns`, `contacts`, `dispatch`,
//! `stats`, `people`, `catalog`, `rules`, and the value types `ids`, `time`, `duration`,
//! `text`), which use nothing of the layers above them.

pub mod app;
pub mod audit;
pub mod campaigns;
pub mod catalog;
pub mod clock;
pub mod codes;
pub mod config;
pub mod contacts;
pub mod dispatch;
pub mod duration;
pub mod events;
pub mod floor;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod net;
pub mod patch;
pub mod people;
pub mod rules;
pub mod segments;
pub mod service;
pub mod stats;
pub mod store;
pub mod stored;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod validate;
pub mod webhooks;

#[cfg(test)]
mod layers;
#[cfg(test)]
mod parsing_properties;
