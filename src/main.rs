//! The `outcall` binary: parse the command line, set up logging, run the service.

use clap::Parser;
use outcall::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            outcall::telemetry::init(config.log_format);
            let runtime = tokio::runtime::Runtime::new().expect("start the tokio runtime");
            match runtime.block_on(outcall::app::serve(config)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(error = %error, "outcall stopped with an error");
                    eprintln!("outcall: {error:#}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
