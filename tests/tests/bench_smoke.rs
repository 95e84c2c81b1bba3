//! The benchmark tool cannot rot: every scenario's code runs here in smoke mode (tiny counts,
//! real servers on 127.0.0.1, real stores) and the report must hold a row for every scenario.
//! Nothing here looks at a duration or a ratio's value: timings on a shared machine prove
//! nothing, and the benchmark's targets are judged by `scripts/bench`, not by the test suite.

use causeway_tests::bench::{Options, report::SCENARIOS, run};

#[test]
fn every_scenario_runs_in_smoke_mode_and_reports_a_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("bench-results.md");
    let options = Options {
        out: Some(out.clone()),
        data_dir: Some(dir.path().join("data")),
        ..Options::smoke()
    };
    let report = run(&options, "causeway-bench --smoke").expect("the benchmark runs");

    let failures: Vec<String> = report
        .failures()
        .iter()
        .map(|row| format!("scenario {}: {:?}", row.scenario, row.outcome))
        .collect();
    assert!(failures.is_empty(), "failed scenarios: {failures:#?}");
    for (n, _) in SCENARIOS {
        assert!(
            report.ratios.iter().any(|row| row.scenario == n),
            "no row for scenario {n}"
        );
    }
    assert!(
        report
            .measurements
            .iter()
            .all(|m| m.measurement.count() > 0 || m.scenario == 7),
        "a phase measured nothing"
    );

    let written = std::fs::read_to_string(&out).expect("the report is written to --out");
    assert_eq!(written, report.to_markdown());
    assert!(written.contains("| # | scenario | ratio | value | target | met |"));
    for (n, title) in SCENARIOS {
        assert!(written.contains(&format!("| {n} | {title} |")), "{written}");
    }
    assert!(written.contains("- Machine: "), "{written}");
    assert!(
        written.contains("- Command: `causeway-bench --smoke`"),
        "{written}"
    );
}

/// The read-side scenarios against the MongoDB adapter, on a SecantusDB the bench starts itself
/// (the second pass of `scripts/bench`).
#[test]
fn the_read_side_scenarios_run_against_mongodb_in_smoke_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = Options {
        mongodb: true,
        only: vec![2, 3, 6, 7],
        data_dir: Some(dir.path().join("data")),
        ..Options::smoke()
    };
    let report = run(&options, "causeway-bench --smoke --mongodb").expect("the benchmark runs");
    assert!(report.failures().is_empty(), "{:#?}", report.failures());
    for n in [2, 3, 6, 7] {
        assert!(
            report.ratios.iter().any(|row| row.scenario == n),
            "no row for scenario {n}"
        );
    }
    let markdown = report.to_markdown();
    assert!(
        markdown.contains("read models in MongoDB (SecantusDB"),
        "{markdown}"
    );
}
