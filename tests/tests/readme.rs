//! The README's examples, run as a newcomer would run them (see `causeway_tests::readme`):
//! against a live server and gateway on a fresh data directory.

use causeway_tests::{
    TestServer,
    readme::{Targets, blocks, run},
    tools,
};
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_examples_work_as_shown() {
    let readme = std::fs::read_to_string(tools::workspace_root().join("README.md")).unwrap();
    let examples = blocks(&readme);
    assert!(examples.len() >= 5, "the README marks its examples");

    let server = TestServer::start_secured().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = listener.local_addr().unwrap().to_string();
    let config = causeway_gateway::config::Config::with_upstream(server.url().parse().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(causeway_gateway::run(listener, config, async {
        let _ = stopped.await;
    }));
    let targets = Targets {
        server: server.addr.to_string(),
        gateway,
        data_dir: server.data_dir().display().to_string(),
    };
    let grpcurl = tools::grpcurl();
    // This test's own binary is target/<profile>/deps/readme-…; the server binary, which
    // cargo builds for the server's own tests, sits in target/<profile>.
    let exe = std::env::current_exe().unwrap();
    let binaries = exe.parent().and_then(|deps| deps.parent()).unwrap();
    assert!(
        binaries.join("causeway-server").exists(),
        "build the server binary first (cargo build -p causeway-server)"
    );
    let result = run(&examples, &targets, &[grpcurl.parent().unwrap(), binaries]).await;
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// Every flag of `command` has a README table row with its environment variable and default.
fn documented(readme: &str, command: clap::Command) -> Vec<String> {
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `--")).collect();
    let mut missing = Vec::new();
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let mut cells = vec![format!("`--{long}`")];
        if let Some(env) = arg.get_env() {
            cells.push(format!("`{}`", env.to_string_lossy()));
        }
        if let Some(default) = arg.get_default_values().first() {
            cells.push(format!("`{}`", default.to_string_lossy()));
        }
        let found = rows
            .iter()
            .any(|row| cells.iter().all(|cell| row.contains(cell.as_str())));
        if !found {
            missing.push(cells.join(" "));
        }
    }
    missing
}

#[test]
fn the_readme_flag_tables_match_both_binaries() {
    use clap::CommandFactory;
    let readme = std::fs::read_to_string(tools::workspace_root().join("README.md")).unwrap();
    let mut missing = documented(&readme, causeway_server::config::Cli::command());
    missing.extend(documented(
        &readme,
        causeway_gateway::config::Config::command(),
    ));
    assert!(missing.is_empty(), "README rows missing for: {missing:#?}");
}
