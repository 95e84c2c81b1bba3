//! The gate over a checkout: today's `proto/` against the newest baseline, the baselines against
//! each other and the changelog, and the event fixtures through the server's upcasters.

use std::path::PathBuf;

use causeway_server::kernel::Upcasters;
use semver::Version;

use super::{
    ContractError, Contracts, Finding,
    baselines::{self, Baseline},
    changelog, compile_dir,
    diff::{Addition, additions, breaking_changes},
    events::{EventFinding, EventRule, stored_event_findings},
    fixtures::{self, FixtureCheck},
    report::{HistoryProblem, Report},
};

/// Where a checkout keeps what the gate reads.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The workspace root.
    pub root: PathBuf,
}

impl Repository {
    /// The checkout this crate was built from.
    pub fn workspace() -> Self {
        Self {
            root: crate::tools::workspace_root(),
        }
    }

    /// The contracts' include root.
    pub fn proto_dir(&self) -> PathBuf {
        self.root.join("proto")
    }

    /// Where the baselines live.
    pub fn baselines_dir(&self) -> PathBuf {
        self.root.join("proto/baselines")
    }

    /// The changelog that announces each baseline.
    pub fn changelog(&self) -> PathBuf {
        self.root.join("CHANGELOG.md")
    }

    /// The stored-event fixtures.
    pub fn fixtures_dir(&self) -> PathBuf {
        self.root.join("tests/fixtures/events")
    }
}

/// Today's contracts and what the fixtures say about today's events.
struct Today {
    contracts: Contracts,
    fixtures: FixtureCheck,
}

fn today(repo: &Repository, upcasters: &Upcasters) -> Result<Today, ContractError> {
    let contracts = compile_dir(&repo.proto_dir())?;
    let samples = fixtures::load(&repo.fixtures_dir())?;
    let fixtures = fixtures::verify(&samples, upcasters, &contracts.pool);
    Ok(Today {
        contracts,
        fixtures,
    })
}

/// What changed from a baseline to today.
struct Comparison {
    breaking: Vec<Finding>,
    events: Vec<EventFinding>,
    additions: Vec<Addition>,
}

/// Breaking changes, stored-event findings and additions from `baseline` to today.
fn against(baseline: &Baseline, today: &Today, upcasters: &Upcasters) -> Comparison {
    let (old, new) = (&baseline.contracts.pool, &today.contracts.pool);
    let breaking = breaking_changes(old, new);
    let has_upcaster = |t: &str, v: u32| fixtures::has_upcaster(upcasters, t, v);
    let rule = EventRule {
        baseline: old,
        baseline_versions: &baseline.events,
        current: new,
        current_versions: &today.fixtures.versions,
        has_upcaster: &has_upcaster,
    };
    let events = stored_event_findings(&rule, &breaking);
    Comparison {
        events,
        additions: additions(old, new),
        breaking,
    }
}

/// The whole gate: what `scripts/contract-check` prints and the test suite requires to pass.
pub fn check(repo: &Repository, upcasters: &Upcasters) -> Result<Report, ContractError> {
    let today = today(repo, upcasters)?;
    let all = baselines::load_all(&repo.baselines_dir())?;
    let mut report = Report {
        history: history(repo, &all)?,
        ..Report::default()
    };
    match all.last() {
        Some(latest) => {
            let comparison = against(latest, &today, upcasters);
            report.baseline = Some(latest.version.clone());
            report.breaking = comparison.breaking;
            report.events = comparison.events;
            report.additions = comparison.additions;
        }
        None => {
            // Nothing to compare with yet; today's events still need their upcasters.
            let itself = Baseline {
                version: Version::new(0, 0, 0),
                contracts: today.contracts.clone(),
                events: today.fixtures.versions.clone(),
                digest: String::new(),
            };
            report.events = against(&itself, &today, upcasters).events;
        }
    }
    report.fixtures = today.fixtures.problems;
    Ok(report)
}

/// The baselines in order, each announced, each break a major release with its events bumped,
/// and an SDK at least as new as the newest.
fn history(repo: &Repository, all: &[Baseline]) -> Result<Vec<HistoryProblem>, ContractError> {
    let mut out = Vec::new();
    let Some(latest) = all.last() else {
        out.push(HistoryProblem::NoBaseline);
        return Ok(out);
    };
    let path = repo.changelog();
    let changelog = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ContractError::io(path)(e)),
    };
    for baseline in all {
        if !changelog::announces(&changelog, &baseline.version, &baseline.digest) {
            out.push(HistoryProblem::NotAnnounced {
                version: baseline.version.clone(),
                digest: baseline.digest.clone(),
            });
        }
    }
    for pair in all.windows(2) {
        let (from, to) = (&pair[0], &pair[1]);
        let changes = breaking_changes(&from.contracts.pool, &to.contracts.pool);
        let rule = EventRule {
            baseline: &from.contracts.pool,
            baseline_versions: &from.events,
            current: &to.contracts.pool,
            current_versions: &to.events,
            // Upcasters of the past are not on record; today's are checked against today.
            has_upcaster: &|_, _| true,
        };
        for finding in stored_event_findings(&rule, &changes) {
            out.push(HistoryProblem::StoredEvents {
                from: from.version.clone(),
                to: to.version.clone(),
                finding,
            });
        }
        if !changes.is_empty() && !baselines::is_major_bump(&from.version, &to.version) {
            out.push(HistoryProblem::BreakWithoutMajorBump {
                from: from.version.clone(),
                to: to.version.clone(),
                changes,
            });
        }
    }
    let sdk = changelog::sdk_version(&repo.root)?;
    if sdk < latest.version {
        out.push(HistoryProblem::SdkBehind {
            sdk,
            baseline: latest.version.clone(),
        });
    }
    Ok(out)
}

/// What `accept` wrote, and what the changelog must now say.
#[derive(Debug)]
pub struct Accepted {
    /// The new baseline.
    pub baseline: Baseline,
    /// The line to add under `## <version>` in `CHANGELOG.md`.
    pub changelog_entry: String,
    /// The breaking changes it accepts (to describe in the changelog).
    pub breaking: Vec<Finding>,
    /// The additions it takes in.
    pub additions: Vec<Addition>,
}

/// Records today's contracts and event versions as the baseline of `version`. Refuses a version
/// not above the newest baseline (baselines are never rewritten), a break in anything but a
/// major release, fixtures that do not read, and event changes the stored-event rule refuses.
pub fn accept(
    repo: &Repository,
    version: &Version,
    upcasters: &Upcasters,
) -> Result<Accepted, ContractError> {
    let refuse = |reason: String| ContractError::Refused {
        version: version.to_string(),
        reason,
    };
    let today = today(repo, upcasters)?;
    if !today.fixtures.problems.is_empty() {
        let problems: Vec<String> = today
            .fixtures
            .problems
            .iter()
            .map(|p| p.to_string())
            .collect();
        return Err(refuse(format!(
            "the event fixtures fail:\n  {}",
            problems.join("\n  ")
        )));
    }
    let all = baselines::load_all(&repo.baselines_dir())?;
    let (breaking, added) = match all.last() {
        None => (Vec::new(), Vec::new()),
        Some(latest) => {
            if version <= &latest.version {
                return Err(refuse(format!(
                    "baselines are never rewritten; take a version above {}",
                    latest.version
                )));
            }
            let Comparison {
                breaking,
                events,
                additions,
            } = against(latest, &today, upcasters);
            if !events.is_empty() {
                let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
                return Err(refuse(format!(
                    "stored events would no longer read:\n  {}",
                    events.join("\n  ")
                )));
            }
            if !breaking.is_empty() && !baselines::is_major_bump(&latest.version, version) {
                return Err(refuse(format!(
                    "{} breaking change(s) since {} need a major release, e.g. {}",
                    breaking.len(),
                    latest.version,
                    baselines::next_major(&latest.version)
                )));
            }
            (breaking, additions)
        }
    };
    let baseline = baselines::write(
        &repo.baselines_dir(),
        version,
        &today.contracts,
        &today.fixtures.versions,
    )?;
    Ok(Accepted {
        changelog_entry: changelog::entry(version, &baseline.digest),
        baseline,
        breaking,
        additions: added,
    })
}
