//! Configuration from flags and environment variables; the database URL picks the backend.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    duration::Span,
    rules::{CallingHours, PhoneCap, RateLimit},
};

/// outcall: an outbound-call campaign scheduler for telemarketing teams.
///
/// Campaign leads build campaigns from subscriber lists and scripts; agents pull their next
/// call over HTTP and record outcomes; dashboards read stats. See README.md.
#[derive(Debug, Parser)]
#[command(name = "outcall", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the one value does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (and its background workers) until SIGTERM or SIGINT.
    Serve(Config),
    /// A render worker, started by the server itself: renders scripts sent on its standard
    /// input, one at a time, under a memory cap.
    #[command(hide = true)]
    RenderWorker(WorkerArgs),
}

/// Settings for `outcall render-worker`, given by the server that starts it.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The address space the worker may use, in MiB.
    #[arg(long, default_value_t = DEFAULT_RENDER_MEMORY_MIB)]
    pub memory_mib: u32,
}

/// The address space one render worker may use by default, in MiB: its code and engine take
/// about 40 MiB of it (mostly reserved, 15 MiB resident); a render may build a few hundred MiB.
pub const DEFAULT_RENDER_MEMORY_MIB: u32 = 512;

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Settings for `outcall serve`. Every flag can also be given as the environment variable named.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Database: `sqlite://FILE` (created if missing; background jobs go to FILE's
    /// `.jobs.db` sibling) or `postgres://USER@HOST:PORT/DB` for several processes on one database.
    #[arg(
        long,
        env = "OUTCALL_DATABASE_URL",
        default_value = "sqlite://outcall.db"
    )]
    pub database_url: String,

    /// Address and port to listen on.
    #[arg(long, env = "OUTCALL_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// If set, an admin token with exactly this secret exists after start-up. If unset and no
    /// admin token exists yet, one is generated and printed once.
    #[arg(long, env = "OUTCALL_BOOTSTRAP_TOKEN", hide_env_values = true)]
    pub bootstrap_token: Option<String>,

    /// Region used to read national phone numbers (ISO 3166 code).
    #[arg(long, env = "OUTCALL_DEFAULT_REGION", default_value = "CN")]
    pub default_region: String,

    /// Time zone for contacts and campaigns that name none (IANA name).
    #[arg(long, env = "OUTCALL_TIMEZONE", default_value = "Asia/Shanghai")]
    pub timezone: chrono_tz::Tz,

    /// Log format.
    #[arg(long, env = "OUTCALL_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Local hours in which any call may be handed out, whatever a campaign says
    /// (`00:00-24:00` allows all day).
    #[arg(long, env = "OUTCALL_CALLING_HOURS", default_value = "08:00-21:00")]
    pub calling_hours: CallingHours,

    /// Most attempts per phone in a rolling period, across all campaigns.
    #[arg(long, env = "OUTCALL_PHONE_CAP", default_value = "3/24h")]
    pub phone_cap: PhoneCap,

    /// Most calls an agent may hand back without an outcome (a release, plain or `skip`, or its
    /// own pause or sign-out while on a call) in a rolling period; past it `POST /v1/calls/next`
    /// answers 429 until the oldest of them is that old. Counted from the calls table, so it
    /// holds across processes and restarts; a supervisor's release does not count.
    #[arg(long, env = "OUTCALL_RELEASE_LIMIT", default_value = "20/1h")]
    pub release_limit: RateLimit,

    /// Most phone look-ups (`GET /v1/contacts?phone=`) one token may make in a rolling period;
    /// past it 429. Counted in each process's memory (a restart forgets, and each process of a
    /// PostgreSQL deployment counts apart).
    #[arg(long, env = "OUTCALL_LOOKUP_LIMIT", default_value = "60/1m")]
    pub lookup_limit: RateLimit,

    /// How long before a conversion billing reports an agent's `accepted` may be what sold it:
    /// the conversion is attributed to the latest accepted call for the person and offer in
    /// this window, else recorded as organic.
    #[arg(long, env = "OUTCALL_ATTRIBUTION_WINDOW", default_value = "30d")]
    pub attribution_window: Span,

    /// Least time between two attempts on one phone (`0s` disables).
    #[arg(long, env = "OUTCALL_PHONE_MIN_GAP", default_value = "1h")]
    pub phone_min_gap: Span,

    /// How long an agent-owned callback waits for its agent after it is due before anyone in
    /// the campaign may take it.
    #[arg(long, env = "OUTCALL_CALLBACK_GRACE", default_value = "15m")]
    pub callback_grace: Span,

    /// How long an active campaign with ready contacts may go without a hand-out while
    /// campaigns sharing its agents get theirs before it carries the `starved` warning.
    #[arg(long, env = "OUTCALL_STARVED_AFTER", default_value = "15m")]
    pub starved_after: Span,

    /// Largest request body accepted on ordinary routes, in bytes.
    #[arg(long, env = "OUTCALL_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Largest contact-list or DNC upload accepted, in bytes.
    #[arg(long, env = "OUTCALL_MAX_UPLOAD_BYTES", default_value_t = 1024 * 1024 * 1024)]
    pub max_upload_bytes: usize,

    /// Largest .xlsx upload accepted, in bytes (413 past it). A workbook is a zip, read from
    /// its end, so it is stored whole before it is read; it is read from the database, not
    /// memory, but each of its parts is decompressed once to check it (contacts/xlsx.rs).
    #[arg(long, env = "OUTCALL_MAX_XLSX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_xlsx_bytes: usize,

    /// CSV uploads up to this many bytes are imported at once (200 with the report); larger
    /// ones are stored and read by a background job (202 with an import id).
    #[arg(long, env = "OUTCALL_IMPORT_INLINE_BYTES", default_value_t = 1024 * 1024)]
    pub import_inline_bytes: usize,

    /// How long an upload (a contact list, a DNC list) may go without sending data before it
    /// is refused; an upload that keeps sending may take as long as it needs.
    #[arg(long, env = "OUTCALL_UPLOAD_IDLE", default_value = "30s")]
    pub upload_idle: Span,

    /// How long any other request may take in all, body included (408 past it).
    #[arg(long, env = "OUTCALL_REQUEST_TIMEOUT", default_value = "60s")]
    pub request_timeout: Span,

    /// How long a client may take to send a request's headers before its connection is closed.
    #[arg(long, env = "OUTCALL_HEADER_TIMEOUT", default_value = "10s")]
    pub header_timeout: Span,

    /// Most connections served at once; past it, new connections wait to be accepted.
    #[arg(long, env = "OUTCALL_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// Most connections one client address (an IPv4 address, an IPv6 /64) holds at once; past
    /// it, its new connections are answered 429 and closed. 0: no limit (behind a load balancer
    /// or proxy every client shares its address: set this to 0 or to the proxy's pool size).
    #[arg(
        long,
        env = "OUTCALL_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 256
    )]
    pub max_connections_per_address: usize,

    /// How long an import may go without progress before it is taken for abandoned by its
    /// worker (a crash) and resumed by another; an upload that stalls this long is failed.
    #[arg(long, env = "OUTCALL_IMPORT_STALE", default_value = "30s")]
    pub import_stale: Span,

    /// An agent whose desk shows no sign of life (a hand-out, a heartbeat, a state change) for
    /// this long is signed out (`offline`) and its held call released. Unset: never.
    #[arg(long, env = "OUTCALL_AGENT_IDLE")]
    pub agent_idle: Option<Span>,

    /// Unknown tokens one client address may present per minute before it gets 429.
    #[arg(long, env = "OUTCALL_AUTH_FAILURES_PER_MINUTE", default_value_t = 30)]
    pub auth_failures_per_minute: u32,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated address
    /// blocks, e.g. `10.0.0.0/8,::1`); requests from anywhere else are known by their own
    /// address.
    #[arg(long, env = "OUTCALL_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::net::Cidr>,

    /// Most open event streams (`GET /v1/events`) one token may hold in this process; one more
    /// is refused with 429. Room for a wallboard or two, each with a reconnect overlapping the
    /// stream it replaces.
    #[arg(long, env = "OUTCALL_EVENT_STREAMS_PER_TOKEN", default_value_t = 4)]
    pub event_streams_per_token: usize,

    /// Most open event streams this process serves, all tokens together; one more is refused
    /// with 503, so a load balancer or the client tries again (elsewhere) later.
    #[arg(long, env = "OUTCALL_EVENT_STREAMS_PER_PROCESS", default_value_t = 300)]
    pub event_streams_per_process: usize,

    /// Most events a reconnecting stream is sent from `Last-Event-ID`; a client that missed
    /// more (or events already pruned) is sent `event: reset` instead and reloads.
    #[arg(long, env = "OUTCALL_EVENT_REPLAY_LIMIT", default_value_t = 10_000)]
    pub event_replay_limit: usize,

    /// How often an open event stream re-checks its token (one indexed read): a revoked token's
    /// or deactivated agent's stream ends within this time.
    #[arg(long, env = "OUTCALL_EVENT_RECHECK", default_value = "5s")]
    pub event_recheck: Span,

    /// How often the maintenance sweep runs (prunes expired idempotency records).
    #[arg(long, env = "OUTCALL_SWEEP_EVERY", default_value = "60s")]
    pub sweep_every: Span,

    /// SQLite: `full` syncs at every commit, so every answered change survives a power cut or an
    /// OS crash; `normal` syncs at checkpoints only (faster; a process crash still loses
    /// nothing, but a power cut may lose the last seconds of answered changes).
    #[arg(long, env = "OUTCALL_SQLITE_SYNC", value_enum, default_value = "full")]
    pub sqlite_sync: SqliteSync,

    /// SQLite: how long a statement waits for a lock another program holds on the database
    /// file before the request is answered 503 (an import pauses and carries on instead).
    #[arg(long, env = "OUTCALL_SQLITE_BUSY_TIMEOUT", default_value = "30s")]
    pub sqlite_busy_timeout: Span,

    /// Rows an import commits per transaction (a hand-out waits for one such write at most);
    /// unset, [`Config::import_batch_rows`] chooses by backend.
    #[arg(long, env = "OUTCALL_IMPORT_BATCH", value_parser = batch_rows, hide = true)]
    pub import_batch: Option<usize>,

    /// Imports this process parses at once (inline ones and import jobs alike); more wait their
    /// turn. Each reads within fixed buffers, so memory is bounded by this number.
    #[arg(long, env = "OUTCALL_IMPORTS_AT_ONCE", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub imports_at_once: u16,

    /// Forecasts this process simulates at once; more wait their turn. The worst forecast (366
    /// days, 100 attempts, the staffing search) takes about a second of CPU (BENCHMARKS.md), so
    /// this bounds the CPU forecasts can take whatever is asked.
    #[arg(long, env = "OUTCALL_FORECASTS_AT_ONCE", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub forecasts_at_once: u16,
    /// Internal address blocks webhooks may reach nonetheless (comma-separated, e.g.
    /// `127.0.0.0/8,::1`); by default a webhook goes only to public addresses, checked after
    /// every DNS resolution.
    #[arg(long, env = "OUTCALL_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<crate::net::Cidr>,

    /// How long a webhook delivery waits after its first failed attempt; each further failure
    /// doubles the wait, to an hour at most.
    #[arg(long, env = "OUTCALL_WEBHOOK_BACKOFF", default_value = "10s")]
    pub webhook_backoff: Span,

    /// How long a webhook delivery is retried before it is given up (`failed`, retried only by
    /// hand): at least a day.
    #[arg(long, env = "OUTCALL_WEBHOOK_RETRY_FOR", default_value = "24h")]
    pub webhook_retry_for: Span,

    /// How long delivered webhook events (and their attempts) are kept for the deliveries list
    /// before the janitor prunes them.
    #[arg(long, env = "OUTCALL_WEBHOOK_KEEP", default_value = "7d")]
    pub webhook_keep: Span,

    /// How often, in milliseconds, each process looks for webhook deliveries that are due.
    #[arg(
        long,
        env = "OUTCALL_WEBHOOK_POLL_MS",
        default_value_t = 1_000,
        hide = true
    )]
    pub webhook_poll_ms: u64,

    /// How many due retries and callbacks one sweep moves to the ready queue at most.
    #[arg(
        long,
        env = "OUTCALL_PROMOTE_BATCH",
        default_value_t = 5_000,
        hide = true
    )]
    pub promote_batch: i64,

    /// Render worker processes (`outcall render-worker`) this process keeps: scripts rendered
    /// at once; more wait their turn. Unset: the number of CPUs, at least 2 and at most 4.
    #[arg(long, env = "OUTCALL_RENDER_WORKERS", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub render_workers: Option<u16>,

    /// The address space each render worker may use, in MiB (`RLIMIT_AS`): a script whose
    /// render needs more fails with "needs more memory than a script may use", and its
    /// version is not rendered again until the script changes.
    #[arg(long, env = "OUTCALL_RENDER_MEMORY_MIB", default_value_t = DEFAULT_RENDER_MEMORY_MIB,
          value_parser = clap::value_parser!(u32).range(64..=65_536))]
    pub render_memory_mib: u32,

    /// The program render workers are started from: `outcall serve` sets it to its own
    /// executable; unset, the service does not start (scripts are never rendered in-process).
    #[arg(skip)]
    pub render_worker: Option<std::path::PathBuf>,
}

/// When SQLite makes a commit durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    /// At every commit (power-loss safe).
    Full,
    /// At checkpoints (process-crash safe only).
    Normal,
}

/// Rows per import transaction: 1 to 10,000.
fn batch_rows(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=10_000) => Ok(n),
        _ => Err(format!("'{text}' is not a number of rows from 1 to 10000")),
    }
}

/// Whether a database URL selects PostgreSQL (anything else is SQLite).
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Rows per import transaction on SQLite, unless configured: a hand-out shares SQLite's one
/// writer with the import and waits for at most one batch, its sync included; 250 rows keep the
/// busy `next` p99 at about 26 ms where 1,000 gave 40–64 ms, for an import 1.2–1.3× its time
/// alone (BENCHMARKS.md, "The import's batch size under load").
const SQLITE_IMPORT_BATCH: usize = 250;

impl Config {
    /// Rows an import commits per transaction: the setting, or 250 on SQLite and
    /// [`crate::contacts::csv::BATCH`] on PostgreSQL, whose writers do not wait for each other.
    pub fn import_batch_rows(&self) -> usize {
        self.import_batch
            .unwrap_or(if is_postgres(&self.database_url) {
                crate::contacts::csv::BATCH
            } else {
                SQLITE_IMPORT_BATCH
            })
    }

    /// Render worker processes to keep: the setting, or the CPUs between 2 and 4.
    pub fn render_workers(&self) -> usize {
        self.render_workers.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, usize::from)
                .clamp(2, 4)
        })
    }

    /// Whether SQLite syncs at every commit.
    pub fn sqlite_durable(&self) -> bool {
        self.sqlite_sync == SqliteSync::Full
    }
}

impl Config {
    /// A configuration with every default, for the given database; used by tests.
    pub fn for_database(url: &str) -> Self {
        let cli = Cli::parse_from([
            "outcall",
            "serve",
            "--database-url",
            url,
            "--listen",
            "127.0.0.1:0",
        ]);
        match cli.command {
            Command::Serve(config) => config,
            Command::RenderWorker(_) => unreachable!("parsed as `serve`"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<Config, clap::Error> {
        let cli = Cli::try_parse_from(["outcall", "serve"].iter().chain(args))?;
        let Command::Serve(config) = cli.command else {
            unreachable!("parsed as `serve`")
        };
        Ok(config)
    }

    #[test]
    fn an_import_commits_fewer_rows_at_a_time_on_sqlite_than_on_postgresql_unless_told() {
        let sqlite = serve(&["--database-url", "sqlite://x.db"]).unwrap();
        assert_eq!(sqlite.import_batch_rows(), 250);
        let pg = serve(&["--database-url", "postgres://h/db"]).unwrap();
        assert_eq!(pg.import_batch_rows(), 1_000);
        let set = serve(&["--database-url", "sqlite://x.db", "--import-batch", "40"]).unwrap();
        assert_eq!(set.import_batch_rows(), 40);
    }

    #[test]
    fn an_import_batch_outside_one_to_ten_thousand_rows_is_refused() {
        for bad in ["0", "10001", "many"] {
            assert!(serve(&["--import-batch", bad]).is_err(), "{bad}");
        }
    }
}
