//! `tidelog`: the command-line entry point. `tidelog serve` runs a Kafka-compatible broker;
//! `tidelog api-versions` lists the Kafka APIs it advertises; `tidelog produce` and
//! `tidelog consume` send stdin to a topic and print a topic's records, as kcat does.

mod client_flags;
mod config_file;
mod consume;
mod format;
mod produce;
mod serve;
mod settings;
mod signals;

use clap::{Parser, Subcommand};
use consume::ConsumeArgs;
use produce::ProduceArgs;
use settings::ServeArgs;
use std::error::Error;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// A Kafka-compatible broker and its command-line tools.
///
/// Logs go to stderr; set RUST_LOG to choose what is logged (default: info, or warn for
/// produce and consume).
#[derive(Debug, Parser)]
#[command(name = "tidelog", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a broker until SIGINT or SIGTERM, then flush and close every log
    ///
    /// Once listening, prints `tidelog listening on HOST:PORT` on stdout. Settings are
    /// layered: built-in defaults, then the --config file, then each --set in order, then
    /// the other flags; a later layer overrides an earlier one.
    Serve(ServeArgs),
    /// List the Kafka APIs the broker advertises in ApiVersions: key, name, min and max
    /// version
    ApiVersions,
    /// Send each line of stdin to a topic as one record, as `kcat -P` does
    ///
    /// Empty lines are skipped. Once stdin ends, waits until every record is delivered;
    /// each record that is not is reported on stderr, and the exit status is then
    /// non-zero. SIGINT or SIGTERM stops reading and delivers what was read; a second
    /// one gives up. Logs go to stderr (default level: warn).
    Produce(ProduceArgs),
    /// Print a topic's records, as `kcat -C` (or `kcat -G` with -G) does
    ///
    /// Without -G, reads every partition of the topic (or the one -p names) from -o.
    /// With -G, reads what the group assigns and commits the positions reached on exit.
    /// Runs until -e finds every partition read to its end, -c records are printed, or
    /// SIGINT or SIGTERM. Logs go to stderr (default level: warn).
    Consume(ConsumeArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The client commands print data on stdout and only what goes wrong on stderr.
    let default_level = match cli.command {
        Command::Produce(_) | Command::Consume(_) => LevelFilter::WARN,
        Command::Serve(_) | Command::ApiVersions => LevelFilter::INFO,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(default_level.into())
                .from_env_lossy(),
        )
        .init();

    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::ApiVersions => {
            print_api_versions().map_err(|err| format!("cannot write to stdout: {err}"))
        }
        Command::Produce(args) => produce::run(args).await,
        Command::Consume(args) => consume::run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("tidelog: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_api_versions() -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    for (api, min, max) in tidelog::broker::supported_apis() {
        writeln!(stdout, "{:>3} {:<32} {min}-{max}", api as i16, api.name())?;
    }
    stdout.flush()
}

/// `err` followed by each underlying cause that its message does not already include.
fn error_chain(err: &dyn Error) -> String {
    let mut message = err.to_string();
    let mut cause = err.source();
    while let Some(source) = cause {
        let text = source.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = source.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1
                .as_deref()
                .map(|layer| layer as &(dyn Error + 'static))
        }
    }

    #[test]
    fn error_chain_appends_causes_not_already_shown() {
        let root = Layer("permission denied", None);
        let repeated = Layer(
            "cannot listen on 0.0.0.0:1: permission denied",
            Some(Box::new(root)),
        );
        assert_eq!(
            error_chain(&repeated),
            "cannot listen on 0.0.0.0:1: permission denied"
        );
        let hidden = Layer(
            "data directory /d",
            Some(Box::new(Layer("disk full", None))),
        );
        assert_eq!(error_chain(&hidden), "data directory /d: disk full");
    }

    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
