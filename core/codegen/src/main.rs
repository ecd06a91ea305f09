//! `cargo run -p tidelog-codegen [-- SCHEMA_DIR [OUT_ROOT]]`: regenerates the protocol
//! messages from Kafka's schemas (default `../shared/kafka-schemas`) into the workspace.

fn main() {
    let mut args = std::env::args_os().skip(1);
    let schema_dir = args
        .next()
        .map(Into::into)
        .unwrap_or_else(tidelog_codegen::default_schema_dir);
    let out_root = args
        .next()
        .map(Into::into)
        .unwrap_or_else(tidelog_codegen::workspace_root);
    match tidelog_codegen::generate_into(&schema_dir, &out_root) {
        Ok(written) => println!("wrote {} files under {}", written.len(), out_root.display()),
        Err(message) => {
            eprintln!("tidelog-codegen: {message}");
            std::process::exit(1);
        }
    }
}
