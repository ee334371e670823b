//! outcall: an outbound-call campaign scheduler for telemarketing teams.
//!
//! `app` wires the pieces together; domain modules (`people`, `catalog`, `text`, `duration`)
//! hold types and pure rules; `http` is the edge, `store` the storage seam, `jobs` the
//! background work.

pub mod app;
pub mod campaigns;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod dispatch;
pub mod dispatcher;
pub mod duration;
pub mod events;
pub mod http;
pub mod jobs;
pub mod people;
pub mod rules;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod text;
