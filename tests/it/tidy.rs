//! Repository hygiene that a reviewer would otherwise have to remember.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn every_source_file_says_what_it_owns() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.starts_with("//! ")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(files.len() > 10);
    assert!(
        missing.is_empty(),
        "files without a `//! ` first line: {missing:?}"
    );
}

/// The first path segments after every `crate::` in `text`, including each name of a grouped
/// `crate::{a, b::c}`.
fn crate_modules(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inside = group.split('}').next().unwrap_or_default();
            found.extend(
                inside
                    .split(',')
                    .filter_map(|item| item.trim().split("::").next())
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned),
            );
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

/// ARCHITECTURE.md's dependency rules, as checks: which modules each part of `src/` must not
/// name. Test files may build values of any layer.
#[test]
fn modules_depend_only_downwards() {
    #[rustfmt::skip]
    const RULES: &[(&str, &[&str])] = &[
        // Surfaces speak to the bot only (and draw with `present`).
        ("surface/", &["pipeline", "store", "warehouse", "guard", "llm", "app", "http", "cli", "eval"]),
        ("bot/", &["surface", "http", "app", "cli"]),
        ("http/", &["app", "surface", "cli", "bot"]),
        ("pipeline/", &["surface", "http", "app", "cli", "bot"]),
        ("llm/", &["surface", "http", "app", "cli", "bot", "pipeline", "store", "warehouse"]),
        ("warehouse/", &["surface", "http", "app", "cli", "bot", "pipeline", "store", "llm"]),
        ("guard/", &["surface", "http", "app", "cli", "bot", "pipeline", "store", "llm", "warehouse"]),
        ("present/", &["surface", "http", "app", "cli", "bot", "pipeline", "store", "llm"]),
        ("store/", &["surface", "http", "app", "cli", "bot", "pipeline", "llm", "warehouse", "guard"]),
        ("catalog.rs", &["surface", "http", "app", "cli", "bot", "pipeline", "store", "warehouse"]),
        ("dialect.rs", &["surface", "http", "app", "cli", "bot", "pipeline", "store", "warehouse"]),
    ];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    for path in &files {
        let relative = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let used = crate_modules(&text);
        for (prefix, forbidden) in RULES {
            if !relative.starts_with(prefix) {
                continue;
            }
            for module in used.iter().filter(|m| forbidden.contains(&m.as_str())) {
                broken.push(format!("{relative} uses crate::{module}"));
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(files.len() > 10);
    assert!(
        broken.is_empty(),
        "dependencies against ARCHITECTURE.md:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_dependency_check_reads_grouped_and_inline_paths() {
    let text = "use crate::{bot::Bot, store::Draft};\nlet x = crate::warehouse::Value::Null;";
    assert_eq!(crate_modules(text), ["bot", "store", "warehouse"]);
}
