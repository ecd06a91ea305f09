//! The committed generated code must be exactly what the generator writes today.

use std::path::Path;

#[test]
fn committed_messages_match_the_generator() {
    let schemas = tidelog_codegen::default_schema_dir();
    if !schemas.is_dir() {
        eprintln!(
            "skipped: {} is absent (a clone without ../shared)",
            schemas.display()
        );
        return;
    }
    let scratch =
        std::env::temp_dir().join(format!("tidelog-codegen-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let written = tidelog_codegen::generate_into(&schemas, &scratch).expect("generation succeeds");
    let root = tidelog_codegen::workspace_root();
    let mut stale = Vec::new();
    for path in &written {
        let relative = path.strip_prefix(&scratch).unwrap();
        let committed = std::fs::read_to_string(root.join(relative)).unwrap_or_default();
        if committed != std::fs::read_to_string(path).unwrap() {
            stale.push(relative.display().to_string());
        }
    }
    let generated: Vec<_> = written
        .iter()
        .map(|p| p.strip_prefix(&scratch).unwrap().to_path_buf())
        .collect();
    for entry in std::fs::read_dir(root.join(tidelog_codegen::MESSAGES_DIR)).unwrap() {
        let relative = Path::new(tidelog_codegen::MESSAGES_DIR).join(entry.unwrap().file_name());
        if !generated.contains(&relative) {
            stale.push(format!("{} (no longer generated)", relative.display()));
        }
    }
    std::fs::remove_dir_all(&scratch).ok();
    assert!(
        stale.is_empty(),
        "generated files are out of date; run `cargo run -p tidelog-codegen`:\n{}",
        stale.join("\n")
    );
}
