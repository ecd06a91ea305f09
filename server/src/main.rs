//! `tidelog`: the command-line entry point. The broker (`tidelog serve`) and the client
//! tools arrive with the broker; today the binary reports its version and the protocol
//! coverage of the codec it is built on.

use tidelog::protocol::messages::ApiKey;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-V") => println!("tidelog {}", env!("CARGO_PKG_VERSION")),
        Some("api-versions") => {
            for api in ApiKey::ALL {
                let range = api.versions();
                println!(
                    "{:>3} {:<32} {}-{}",
                    *api as i16,
                    api.name(),
                    range.min,
                    range.max
                );
            }
        }
        None | Some("--help") | Some("-h") => {
            println!("tidelog {}\n\nUSAGE:\n  tidelog --version\n  tidelog api-versions   list the Kafka API keys and versions the codec supports", env!("CARGO_PKG_VERSION"));
        }
        Some(other) => {
            eprintln!("tidelog: unknown command {other:?}; see tidelog --help");
            std::process::exit(2);
        }
    }
}
