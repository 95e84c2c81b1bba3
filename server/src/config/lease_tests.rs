//! `--lease-ttl`: its default, and the values refused before anything starts.

use clap::Parser;

use super::*;

fn validated(args: &[&str]) -> Result<Config, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8 path").to_owned();
    let argv = ["causeway-server", "--data-dir", &data]
        .into_iter()
        .chain(args.iter().copied());
    let config = Cli::try_parse_from(argv).map_err(|e| e.to_string())?.config;
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[test]
fn the_lease_ttl_defaults_to_ten_seconds() {
    let config = validated(&[]).expect("defaults are valid");
    assert_eq!(config.lease_ttl, Duration::from_secs(10));
    let config = validated(&["--lease-ttl", "3s"]).expect("3 s is valid");
    assert_eq!(config.lease_ttl, Duration::from_secs(3));
}

#[test]
fn lease_ttls_too_short_or_too_long_are_refused() {
    for ttl in ["0s", "500ms", "6min"] {
        let refused = validated(&["--lease-ttl", ttl]).expect_err(ttl);
        assert!(refused.contains("--lease-ttl"), "{ttl}: {refused}");
    }
    let unparsable = validated(&["--lease-ttl", "soon"]).expect_err("not a duration");
    assert!(unparsable.contains("--lease-ttl"), "{unparsable}");
}
