//! Black-box tests through HTTP against the real server, each run on SQLite and PostgreSQL.

mod helpers;

mod access;
mod edge;
mod jobs;
mod people;
mod process;
mod scripts;
