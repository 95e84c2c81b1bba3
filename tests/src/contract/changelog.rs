//! What `CHANGELOG.md` announces, and which version of the SDK the contracts ship in.
//!
//! A baseline counts as announced when the changelog has a section headed by its version
//! (`## 0.2.0`, or `## [0.2.0] - 2025-01-31`) that names its digest. Editing a baseline changes
//! its digest, so a baseline cannot change without a changelog line changing with it.

use std::path::Path;

use semver::Version;

use super::ContractError;

/// The line `accept` asks for under the version's heading.
pub fn entry(version: &Version, digest: &str) -> String {
    format!("- Contracts baseline `proto/baselines/{version}.binpb`, {digest}.")
}

/// Whether `changelog` has a `## <version>` section that names `digest`.
pub fn announces(changelog: &str, version: &Version, digest: &str) -> bool {
    let wanted = version.to_string();
    let mut in_section = false;
    for line in changelog.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let first = heading.split_whitespace().next().unwrap_or_default();
            in_section = first.trim_matches(|c| c == '[' || c == ']') == wanted;
        } else if in_section && line.contains(digest) {
            return true;
        }
    }
    false
}

/// The version of `causeway-client` declared in `client-sdk/Cargo.toml` (or inherited from
/// the workspace's `[workspace.package]`).
pub fn sdk_version(root: &Path) -> Result<Version, ContractError> {
    let manifest = root.join("client-sdk/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(ContractError::io(&manifest))?;
    let declared = version_in(&text, "package")
        .ok_or_else(|| ContractError::malformed(&manifest, "no [package] version"))?;
    let (path, literal) = if declared.contains("workspace") {
        let workspace = root.join("Cargo.toml");
        let text = std::fs::read_to_string(&workspace).map_err(ContractError::io(&workspace))?;
        let literal = version_in(&text, "workspace.package").ok_or_else(|| {
            ContractError::malformed(&workspace, "no [workspace.package] version")
        })?;
        (workspace, literal)
    } else {
        (manifest, declared)
    };
    let quoted = literal.trim().trim_matches('"');
    Version::parse(quoted).map_err(|e| ContractError::malformed(&path, e))
}

/// What follows `version` in `[section]` of a Cargo manifest: `"0.1.0"`, or `.workspace = true`.
fn version_in(manifest: &str, section: &str) -> Option<String> {
    let header = format!("[{section}]");
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == header;
        } else if inside && let Some(rest) = line.strip_prefix("version") {
            let rest = rest.trim_start();
            return Some(rest.strip_prefix('=').unwrap_or(rest).trim().to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:00ff";

    #[test]
    fn a_baseline_is_announced_only_under_its_own_heading() {
        let v = Version::new(0, 2, 0);
        let changelog = format!("# Changelog\n\n## 0.2.0\n\n{}\n", entry(&v, DIGEST));
        assert!(announces(&changelog, &v, DIGEST));
        assert!(announces(
            &format!("## [0.2.0] - 2025-01-31\n- {DIGEST}\n"),
            &v,
            DIGEST
        ));
        assert!(!announces(&format!("## 0.1.0\n- {DIGEST}\n"), &v, DIGEST));
        assert!(!announces("## 0.2.0\n- sha256:0\n", &v, DIGEST));
        assert!(!announces(&format!("{DIGEST}\n## 0.2.0\n"), &v, DIGEST));
    }

    #[test]
    fn reads_a_literal_or_inherited_version() {
        assert_eq!(
            version_in("[package]\nname = \"x\"\nversion = \"1.2.3\"\n", "package"),
            Some("\"1.2.3\"".to_owned())
        );
        assert_eq!(
            version_in("[package]\nversion.workspace = true\n", "package"),
            Some(".workspace = true".to_owned())
        );
        assert_eq!(
            version_in(
                "[workspace]\nversion = \"9\"\n[workspace.package]\nversion = \"0.1.0\"\n",
                "workspace.package"
            ),
            Some("\"0.1.0\"".to_owned())
        );
        assert_eq!(
            version_in("[dependencies]\nversion = \"1\"\n", "package"),
            None
        );
    }
}
