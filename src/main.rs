//! The `outcall` binary: parse the command line, set up logging, run the service.

use clap::Parser;
use outcall::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            outcall::telemetry::init(config.log_format);
            let runtime = tokio::runtime::Runtime::new().expect("start the tokio runtime");
            let served = runtime.block_on(outcall::app::serve(config));
            // The service has stopped; do not wait for ever for blocking work still going (an
            // import's parser), as dropping the runtime would.
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
            match served {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(error = %error, "outcall stopped with an error");
                    eprintln!("outcall: {error:#}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::RenderWorker(args) => outcall::service::render_worker::run(args.memory_mib),
    }
}
