//! `tidelog serve`: run a broker until SIGINT or SIGTERM, then shut it down cleanly.

use crate::config_file::ConfigFile;
use crate::error_chain;
use crate::settings::{describe_flush, ServeArgs};
use crate::signals::ShutdownSignals;
use std::io::Write;
use tidelog::broker::{Broker, BrokerStorage};
use tracing::{info, warn};

/// Resolves the settings, starts the broker, announces its address on stdout, and serves
/// until a shutdown signal.
///
/// # Errors
/// A one-line message when a setting is invalid, the broker cannot start, or it does not
/// shut down cleanly.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    let file = match &args.config {
        Some(path) => {
            let file = ConfigFile::load(path)?;
            info!(path = %path.display(), "read config file");
            Some(file)
        }
        None => None,
    };
    let options = args.resolve(file.as_ref())?;
    // Installed before the broker starts, so a signal sent as soon as the address is
    // announced is not missed.
    let mut signals = ShutdownSignals::install()
        .map_err(|err| format!("cannot install signal handlers: {err}"))?;

    let storage = options.storage.clone();
    let flush = describe_flush(&options.config);
    let broker = Broker::start(options)
        .await
        .map_err(|err| format!("cannot start the broker: {}", error_chain(&err)))?;

    let address = broker.local_addr();
    info!(%address, bootstrap_servers = %broker.bootstrap_servers(), "listening");
    match &storage {
        BrokerStorage::Disk(dir) => {
            let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            info!(data_dir = %dir.display(), "storing logs on disk");
        }
        BrokerStorage::Memory => info!("storing logs in memory; they are lost at shutdown"),
    }
    info!("flush mode {flush}");
    announce(&format!("tidelog listening on {address}"));

    let signal = signals.recv().await;
    info!(
        signal,
        "shutting down: no new connections, flushing and closing every log"
    );
    broker
        .shutdown()
        .await
        .map_err(|err| format!("unclean shutdown: {}", error_chain(&err)))?;
    info!("shut down cleanly");
    Ok(())
}

/// Writes the line scripts wait for on stdout. The broker serves whether or not anyone
/// reads it, so a closed stdout is only worth a warning.
fn announce(line: &str) {
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        warn!("cannot write the listening address to stdout: {err}");
    }
}
