//! Flags and variables parsed into a [`Config`], and the configurations refused.

use clap::Parser;

use super::*;

fn parse<const N: usize>(args: [&str; N]) -> Result<Config, clap::Error> {
    Cli::try_parse_from(args).map(|cli| cli.config)
}

#[test]
fn authentication_is_on_by_default_and_an_external_issuer_must_be_complete() {
    let config = parse(["causeway-server"]).unwrap();
    assert_eq!(config.auth, AuthMode::Enabled);
    assert_eq!(config.keys_dir(), PathBuf::from("./data/keys"));
    assert_eq!(config.token_ttl, Duration::from_secs(900));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    for (args, complaint) in [
        (vec!["--auth-issuer", "https://idp"], "--auth-audience"),
        (
            vec!["--auth-issuer", "https://idp", "--auth-audience", "c"],
            "exactly one",
        ),
        (vec!["--auth-jwks-file", "/k.json"], "need --auth-issuer"),
        (
            vec![
                "--auth-issuer",
                "i",
                "--auth-audience",
                "c",
                "--auth-jwks-url",
                "ftp://x",
            ],
            "http:// or https://",
        ),
        (vec!["--token-ttl", "2days"], "--token-ttl"),
        (vec!["--fulfilment-timeout", "0s"], "--fulfilment-timeout"),
        (
            vec!["--fulfilment-timeout", "30days"],
            "--fulfilment-timeout",
        ),
    ] {
        let mut argv = vec!["causeway-server", "--data-dir", data];
        argv.extend(args);
        let config = Cli::try_parse_from(argv).unwrap().config;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(complaint), "{err}");
    }
    let ok = Cli::try_parse_from([
        "causeway-server",
        "--data-dir",
        data,
        "--auth-issuer",
        "https://idp",
        "--auth-audience",
        "causeway",
        "--auth-jwks-url",
        "https://idp/jwks.json",
    ])
    .unwrap();
    ok.config.validate().unwrap();
}

#[test]
fn the_token_tool_takes_the_data_directory_after_its_name() {
    let cli = Cli::try_parse_from([
        "causeway-server",
        "token",
        "--subject",
        "ops",
        "--role",
        "admin",
        "--ttl",
        "2h",
        "--data-dir",
        "/srv/causeway",
    ])
    .unwrap();
    let Some(Tool::Token(args)) = cli.tool else {
        panic!("not the token tool");
    };
    assert_eq!(
        (args.subject.as_str(), args.roles.as_slice()),
        ("ops", &["admin".to_owned()][..])
    );
    assert_eq!(args.ttl, Duration::from_secs(7200));
    assert_eq!(cli.config.keys_dir(), PathBuf::from("/srv/causeway/keys"));
}

#[test]
fn defaults_run_out_of_the_box() {
    let config = parse(["causeway-server"]).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
    assert_eq!(config.data_dir, PathBuf::from("./data"));
    assert_eq!(config.role, Role::All);
    assert_eq!(config.durability, DurabilityArg::Full);
    assert_eq!(config.aggregate_cache, ByteSize::mib(16));
    assert_eq!(config.snapshot_every, 100);
    assert_eq!(config.rest_listen, Listen(None));
    assert_eq!(config.fulfilment, FulfilmentMode::Enabled);
    assert_eq!(config.fulfilment_timeout, Duration::from_secs(30));
    let config = parse(["causeway-server", "--fulfilment", "disabled"]).unwrap();
    assert_eq!(config.fulfilment, FulfilmentMode::Disabled);
}

#[test]
fn bad_values_are_rejected_with_the_flag_named() {
    let err = parse(["causeway-server", "--listen", "nope"]).unwrap_err();
    assert!(err.to_string().contains("--listen"), "{err}");
    let err = parse(["causeway-server", "--role", "boss"]).unwrap_err();
    assert!(err.to_string().contains("--role"), "{err}");
    let err = parse(["causeway-server", "--aggregate-cache", "lots"]).unwrap_err();
    assert!(err.to_string().contains("--aggregate-cache"), "{err}");
    let err = parse(["causeway-server", "--snapshot-every", "often"]).unwrap_err();
    assert!(err.to_string().contains("--snapshot-every"), "{err}");
    let err = parse(["causeway-server", "--rest-listen", "everywhere"]).unwrap_err();
    assert!(err.to_string().contains("--rest-listen"), "{err}");
}

#[test]
fn connection_strings_never_print() {
    let config = parse([
        "causeway-server",
        "--kurrentdb-url",
        "kurrentdb://admin:hunter2@db:2113",
        "--mongodb-url",
        "mongodb://u:hunter3@db",
    ])
    .unwrap();
    let printed = format!("{config:?}");
    assert!(
        !printed.contains("hunter2") && !printed.contains("hunter3"),
        "{printed}"
    );
    assert_eq!(
        config.kurrentdb_url.as_ref().map(Secret::expose),
        Some("kurrentdb://admin:hunter2@db:2113")
    );
}

#[test]
fn a_data_dir_that_is_a_file_is_refused() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let config = Config::with_data_dir(file.path());
    assert!(matches!(
        config.validate(),
        Err(ConfigError::DataDir { .. })
    ));
}
