//! Black-box tests through HTTP against the real server, each run on SQLite and PostgreSQL.

mod helpers;

mod access;
mod agent_states;
mod audit;
mod callbacks;
mod calls;
mod campaigns;
mod contacts;
mod counts;
mod crash;
mod crash_schedules;
mod dnc;
mod edge;
mod events;
mod faults;
mod floor;
mod handle_time;
mod import_blips;
mod injection;
mod jobs;
mod limits;
mod metrics;
mod people;
mod process;
mod proxy;
mod release;
mod schedules;
mod scripts;
mod security;
mod slow_clients;
mod stats;
mod team_stats;
mod web;
