//! tidelog's protocol code generator: reads Kafka's JSON message schemas and writes the
//! Rust message codecs into `core/src/protocol/messages/`.

pub mod generate;
pub mod schema;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the generated modules go, relative to the workspace root.
pub const MESSAGES_DIR: &str = "core/src/protocol/messages";

/// The workspace root this generator belongs to.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// Kafka's schemas as the project keeps them: `../shared/kafka-schemas` beside the
/// repository.
pub fn default_schema_dir() -> PathBuf {
    workspace_root().join("../shared/kafka-schemas")
}

/// Reads the schemas under `schema_dir` (`message/` and `group-coordinator/`), writes
/// every generated file under `out_root` (same layout as the workspace) and formats the
/// Rust files with rustfmt. Returns the paths written.
///
/// # Errors
/// A message naming the schema file or the failing step.
pub fn generate_into(schema_dir: &Path, out_root: &Path) -> Result<Vec<PathBuf>, String> {
    let dirs = [
        schema_dir.join("message"),
        schema_dir.join("group-coordinator"),
    ];
    let dirs: Vec<&Path> = dirs
        .iter()
        .map(PathBuf::as_path)
        .filter(|d| d.is_dir())
        .collect();
    if dirs.is_empty() {
        return Err(format!("no schemas under {}", schema_dir.display()));
    }
    let schemas = schema::read_schemas(&dirs)?;
    let messages_dir = out_root.join(MESSAGES_DIR);
    if messages_dir.is_dir() {
        // Stale modules of removed schemas must not survive a regeneration.
        for entry in std::fs::read_dir(&messages_dir).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "rs") {
                std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    let mut written = Vec::new();
    for (relative, contents) in generate::generate(&schemas) {
        let path = out_root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    let rust_files: Vec<&PathBuf> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    let status = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2021"])
        .args(&rust_files)
        .status()
        .map_err(|e| format!("running rustfmt: {e}"))?;
    if !status.success() {
        return Err(format!("rustfmt failed: {status}"));
    }
    Ok(written)
}
