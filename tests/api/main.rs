//! Black-box tests through HTTP against the real server, each run on SQLite and PostgreSQL.

mod helpers;

mod access;
mod calls;
mod campaigns;
mod contacts;
mod crash;
mod crash_schedules;
mod dnc;
mod edge;
mod events;
mod faults;
mod injection;
mod jobs;
mod people;
mod process;
mod proxy;
mod schedules;
mod scripts;
mod security;
mod stats;
mod web;
