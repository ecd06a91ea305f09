//! The committed generated files are current: `src/error_codes.rs` (the `tl_resp_err_t`
//! enum, from the core's `ErrorCode` and `LocalCode`) and `include/tidelog.h` (cbindgen
//! over this crate). Run with `TIDELOG_BLESS=1` to rewrite them.

use std::path::{Path, PathBuf};
use tidelog::error::{ErrorCode, LocalCode};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `src/error_codes.rs` as the core's codes make it.
fn error_codes() -> String {
    let mut codes: Vec<(i32, String, &str)> = LocalCode::ALL
        .iter()
        .map(|c| (c.code(), c.name().to_string(), c.description()))
        .chain(
            ErrorCode::ALL
                .iter()
                .map(|c| (i32::from(c.code()), c.name().to_string(), c.description())),
        )
        .collect();
    codes.sort_by_key(|(code, _, _)| *code);
    let mut out = String::from(
        "// Generated from the core's ErrorCode and LocalCode by bindings-c/tests/header.rs\n\
         // (`TIDELOG_BLESS=1 cargo test -p tidelog-c --test header`): do not edit.\n\n\
         /// An error code: Kafka's error codes at their Kafka values (Kafka protocol guide,\n\
         /// \"Error Codes\"), and client-side codes below -100 with librdkafka's values and\n\
         /// names (a double underscore after `TL_RESP_ERR`). `tl_err2name` and `tl_err2str`\n\
         /// give each one's name and description.\n\
         #[repr(i32)]\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq)]\n\
         pub enum tl_resp_err_t {\n",
    );
    for (code, name, description) in &codes {
        out.push_str(&format!(
            "    /// {description}\n    TL_RESP_ERR_{name} = {code},\n"
        ));
    }
    out.push_str(
        "}\n\nimpl tl_resp_err_t {\n    \
         /// The code with this number, if the enum has it.\n    \
         pub(crate) fn from_code(code: i32) -> Option<tl_resp_err_t> {\n        \
         match code {\n",
    );
    for (code, name, _) in &codes {
        out.push_str(&format!(
            "            {code} => Some(tl_resp_err_t::TL_RESP_ERR_{name}),\n"
        ));
    }
    out.push_str("            _ => None,\n        }\n    }\n}\n");
    out
}

/// `include/tidelog.h` as cbindgen makes it from the crate.
fn header() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("UTF-8 header")
}

/// Compares `path` with `expected`, or rewrites it under `TIDELOG_BLESS`.
fn check(path: &Path, expected: &str) {
    if std::env::var_os("TIDELOG_BLESS").is_some() {
        std::fs::write(path, expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} is stale: run `TIDELOG_BLESS=1 cargo test -p tidelog-c --test header` and commit it",
        path.display()
    );
}

#[test]
fn error_codes_are_current() {
    check(&crate_dir().join("src/error_codes.rs"), &error_codes());
}

#[test]
fn header_is_current() {
    let header = header();
    for guard in [
        "#ifdef __cplusplus",
        "extern \"C\" {",
        "typedef struct tl_conf_t tl_conf_t;",
    ] {
        assert!(header.contains(guard), "the header lacks {guard}");
    }
    check(&crate_dir().join("include/tidelog.h"), &header);
}
