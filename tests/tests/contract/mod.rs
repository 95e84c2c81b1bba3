//! The contract gate, pinned: it passes on this checkout (so CI fails on an unannounced break),
//! names every kind of breaking change made to a copy of `proto/`, lets additions through, holds
//! stored events to their stricter rule, reads every event fixture into today's messages, and
//! accepts a deliberate break only with a new baseline, a changelog line and a major release.
//!
//! - `gate`: this checkout passes.
//! - `breaking`: each kind of breaking change, named with its file and element.
//! - `additive`: additions and comment edits pass.
//! - `events`: the stored-event rule (schema-version bump and upcaster).
//! - `fixtures`: every stored event sample reads as today's message.
//! - `workflow`: accepting a break: baseline, changelog, SDK version.

mod additive;
mod breaking;
mod events;
mod fixtures;
mod gate;
mod workflow;

use std::path::{Path, PathBuf};

use causeway_tests::{
    contract::{Change, Contracts, Finding, Repository, breaking_changes, compile_dir},
    tools::workspace_root,
};
use tempfile::TempDir;

/// A temporary copy of what the gate reads from a checkout: `proto/` (baselines included),
/// the event fixtures, `CHANGELOG.md` and the manifests that carry the SDK's version.
pub struct Checkout {
    dir: TempDir,
}

impl Checkout {
    /// A fresh copy of this checkout's `proto/`, fixtures, changelog and manifests.
    pub fn fresh() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let from = workspace_root();
        copy_tree(&from.join("proto"), &dir.path().join("proto"));
        copy_tree(
            &from.join("tests/fixtures/events"),
            &dir.path().join("tests/fixtures/events"),
        );
        for file in ["CHANGELOG.md", "Cargo.toml", "client-sdk/Cargo.toml"] {
            let to = dir.path().join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from.join(file), to).unwrap();
        }
        Self { dir }
    }

    pub fn repo(&self) -> Repository {
        Repository {
            root: self.dir.path().to_path_buf(),
        }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Every `.proto` of the copy, as paths under `proto/`.
    pub fn proto_files(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, found);
                } else if path.extension().is_some_and(|e| e == "proto") {
                    let relative = path.strip_prefix(root).unwrap();
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        let root = self.path("proto");
        let mut found = Vec::new();
        walk(&root, &root, &mut found);
        found
    }

    pub fn proto(&self, file: &str) -> PathBuf {
        self.path("proto").join(file)
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
    }

    pub fn write(&self, file: &str, text: &str) {
        let path = self.path(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Replaces the first `from` after `anchor` in `proto/<file>`.
    pub fn edit(&self, file: &str, anchor: &str, from: &str, to: &str) -> &Self {
        let name = format!("proto/{file}");
        let text = self.read(&name);
        let start = text
            .find(anchor)
            .unwrap_or_else(|| panic!("{anchor:?} not in {file}"));
        let at = start
            + text[start..]
                .find(from)
                .unwrap_or_else(|| panic!("{from:?} not after {anchor:?} in {file}"));
        let edited = format!("{}{to}{}", &text[..at], &text[at + from.len()..]);
        self.write(&name, &edited);
        self
    }

    /// Removes the braced block (a message, service, RPC or option) that starts at the first
    /// `anchor` after `within`, with the `;` that may end it.
    pub fn remove_block(&self, file: &str, within: &str, anchor: &str) -> &Self {
        let name = format!("proto/{file}");
        let text = self.read(&name);
        let start = text
            .find(within)
            .and_then(|w| text[w..].find(anchor).map(|a| w + a))
            .unwrap_or_else(|| panic!("{anchor:?} not after {within:?} in {file}"));
        let mut depth = 0;
        let mut end = None;
        for (i, c) in text[start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(start + i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        let mut end = end.unwrap_or_else(|| panic!("{anchor:?} has no closing brace in {file}"));
        if text[end..].starts_with(';') {
            end += 1;
        }
        self.write(&name, &format!("{}{}", &text[..start], &text[end..]));
        self
    }

    pub fn compile(&self) -> Contracts {
        compile_dir(&self.path("proto")).expect("the copy compiles")
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The breaking changes `edit` makes to a fresh copy of `proto/`, after `setup` made the
/// baseline (for changes to things today's contracts do not have yet, such as a permission).
pub fn breaks_after(setup: impl FnOnce(&Checkout), edit: impl FnOnce(&Checkout)) -> Vec<Finding> {
    let copy = Checkout::fresh();
    setup(&copy);
    let baseline = copy.compile();
    edit(&copy);
    breaking_changes(&baseline.pool, &copy.compile().pool)
}

/// The breaking changes `edit` makes to a fresh copy of `proto/`.
pub fn breaks(edit: impl FnOnce(&Checkout)) -> Vec<Finding> {
    breaks_after(|_| {}, edit)
}

/// Asserts one finding in `file` about `element` whose change is `change`.
#[track_caller]
pub fn assert_named(findings: &[Finding], file: &str, element: &str, change: Change) {
    let wanted = Finding {
        file: file.to_owned(),
        element: element.to_owned(),
        change,
    };
    assert!(
        findings.contains(&wanted),
        "expected `{file}: {wanted}` among:\n{}",
        findings
            .iter()
            .map(|f| format!("  {}: {f}", f.file))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

pub const ORDERS: &str = "causeway/orders/v1/orders.proto";
pub const ORDER_EVENTS: &str = "causeway/orders/v1/events.proto";
