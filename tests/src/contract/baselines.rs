//! The baselines: the contracts as released in each version of the SDK, kept side by side in
//! `proto/baselines/` and never rewritten.
//!
//! - `<version>.binpb`: the encoded `FileDescriptorSet` of `proto/` (imports included, source
//!   info left out, so comments never matter), readable by any protobuf tool.
//! - `<version>.events.json`: the schema version of every stored event type at that release,
//!   which the stored-event rule needs and descriptors do not hold.
//!
//! A baseline is named in `CHANGELOG.md` by its digest, the SHA-256 of the two files one after
//! the other (`cat 0.1.0.binpb 0.1.0.events.json | sha256sum`).

use std::path::{Path, PathBuf};

use semver::Version;
use sha2::{Digest, Sha256};

use super::{ContractError, Contracts, events::EventVersions};

/// One released version of the contracts.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The SDK version it was released with.
    pub version: Version,
    /// Its descriptors.
    pub contracts: Contracts,
    /// Its stored event types' schema versions.
    pub events: EventVersions,
    /// `sha256:<hex>` of its two files.
    pub digest: String,
}

fn paths(dir: &Path, version: &Version) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{version}.binpb")),
        dir.join(format!("{version}.events.json")),
    )
}

/// Every baseline in `dir`, oldest first; none when `dir` does not exist yet.
pub fn load_all(dir: &Path) -> Result<Vec<Baseline>, ContractError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ContractError::io(dir)(e)),
    };
    let mut versions = Vec::new();
    for entry in entries {
        let path = entry.map_err(ContractError::io(dir))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(".events.json") {
            continue; // read with its image
        }
        let version = name
            .strip_suffix(".binpb")
            .and_then(|v| Version::parse(v).ok())
            .ok_or_else(|| {
                ContractError::malformed(&path, "expected <version>.binpb or .events.json")
            })?;
        versions.push(version);
    }
    versions.sort();
    versions.into_iter().map(|v| load(dir, v)).collect()
}

fn load(dir: &Path, version: Version) -> Result<Baseline, ContractError> {
    let (image, events_path) = paths(dir, &version);
    let encoded = std::fs::read(&image).map_err(ContractError::io(&image))?;
    let events_json = std::fs::read(&events_path).map_err(ContractError::io(&events_path))?;
    let events = serde_json::from_slice(&events_json)
        .map_err(|e| ContractError::malformed(&events_path, e))?;
    let digest = digest(&encoded, &events_json);
    Ok(Baseline {
        version,
        contracts: Contracts::from_image(encoded, &image)?,
        events,
        digest,
    })
}

/// Writes `contracts` and `events` as the baseline of `version` and reads it back.
pub fn write(
    dir: &Path,
    version: &Version,
    contracts: &Contracts,
    events: &EventVersions,
) -> Result<Baseline, ContractError> {
    std::fs::create_dir_all(dir).map_err(ContractError::io(dir))?;
    let (image, events_path) = paths(dir, version);
    let mut events_json =
        serde_json::to_vec_pretty(events).map_err(|e| ContractError::malformed(&events_path, e))?;
    events_json.push(b'\n');
    std::fs::write(&image, &contracts.encoded).map_err(ContractError::io(&image))?;
    std::fs::write(&events_path, &events_json).map_err(ContractError::io(&events_path))?;
    load(dir, version.clone())
}

/// `sha256:<hex>` of the image followed by the event versions.
pub fn digest(image: &[u8], events_json: &[u8]) -> String {
    let hash = Sha256::new()
        .chain_update(image)
        .chain_update(events_json)
        .finalize();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Whether `next` is a major release after `prev` in Cargo's sense, which a caller's
/// `causeway-client = "<prev>"` requirement will not pick up: `1.4.2` -> `2.0.0`, and before 1.0
/// `0.1.3` -> `0.2.0`. Only such a release may carry a breaking change.
pub fn is_major_bump(prev: &Version, next: &Version) -> bool {
    next > prev
        && match (prev.major, prev.minor) {
            (0, 0) => true,
            (0, minor) => next.major > 0 || next.minor > minor,
            (major, _) => next.major > major,
        }
}

/// The smallest major release after `prev`.
pub fn next_major(prev: &Version) -> Version {
    match (prev.major, prev.minor) {
        (0, 0) => Version::new(0, 0, prev.patch + 1),
        (0, minor) => Version::new(0, minor + 1, 0),
        (major, _) => Version::new(major + 1, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn a_major_bump_is_what_a_caret_requirement_will_not_follow() {
        assert!(is_major_bump(&v("1.4.2"), &v("2.0.0")));
        assert!(!is_major_bump(&v("1.4.2"), &v("1.5.0")));
        assert!(is_major_bump(&v("0.1.3"), &v("0.2.0")));
        assert!(!is_major_bump(&v("0.1.3"), &v("0.1.4")));
        assert!(is_major_bump(&v("0.1.3"), &v("1.0.0")));
        assert!(is_major_bump(&v("0.0.1"), &v("0.0.2")));
        assert!(!is_major_bump(&v("2.0.0"), &v("1.0.0")));
        for prev in ["0.0.3", "0.1.3", "1.4.2"] {
            assert!(is_major_bump(&v(prev), &next_major(&v(prev))), "{prev}");
        }
    }

    #[test]
    fn the_digest_covers_both_files() {
        let a = digest(b"image", b"{}");
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
        assert_ne!(a, digest(b"image", b"{\"x\":2}"));
        assert_ne!(a, digest(b"imagf", b"{}"));
    }
}
