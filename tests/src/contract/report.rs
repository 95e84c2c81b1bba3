//! What one run of the gate found, printed file by file.

use std::{collections::BTreeMap, fmt};

use semver::Version;

use super::{EventFinding, Finding, diff::Addition, fixtures::FixtureProblem};

/// A problem with the baselines themselves, the changelog or the SDK's version.
#[derive(Debug, Clone, PartialEq, Eq)]
// Each variant's doc says what its fields (`from`, `to`, `number`, ...) are.
#[allow(missing_docs)]
pub enum HistoryProblem {
    /// `proto/baselines/` holds no baseline yet.
    NoBaseline,
    /// `CHANGELOG.md` has no `## <version>` section naming the baseline's digest.
    NotAnnounced { version: Version, digest: String },
    /// A baseline breaks the one before it without being a major release.
    BreakWithoutMajorBump {
        from: Version,
        to: Version,
        changes: Vec<Finding>,
    },
    /// A baseline changed stored events without what the stored-event rule asks.
    StoredEvents {
        from: Version,
        to: Version,
        finding: EventFinding,
    },
    /// The SDK is older than the newest baseline, so it ships contracts it does not declare.
    SdkBehind { sdk: Version, baseline: Version },
}

impl fmt::Display for HistoryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBaseline => write!(
                f,
                "no baseline in proto/baselines/: run `scripts/contract-check accept <version>`"
            ),
            Self::NotAnnounced { version, digest } => write!(
                f,
                "baseline {version} ({digest}) is not announced: CHANGELOG.md needs a \
                 `## {version}` section naming that digest"
            ),
            Self::BreakWithoutMajorBump { from, to, changes } => {
                write!(
                    f,
                    "baseline {to} breaks {from} but is not a major release after it:"
                )?;
                for change in changes {
                    write!(f, "\n      {} {change}", change.file)?;
                }
                Ok(())
            }
            Self::StoredEvents { from, to, finding } => {
                write!(f, "baseline {to} after {from}: {finding}")
            }
            Self::SdkBehind { sdk, baseline } => write!(
                f,
                "causeway-client is at {sdk} but the newest baseline is {baseline}: raise the \
                 version in client-sdk/Cargo.toml"
            ),
        }
    }
}

/// Everything the gate found about a checkout.
#[derive(Debug, Default)]
pub struct Report {
    /// The baseline today's contracts were held against.
    pub baseline: Option<Version>,
    /// Breaking changes since that baseline.
    pub breaking: Vec<Finding>,
    /// Stored event types the stored-event rule refuses.
    pub events: Vec<EventFinding>,
    /// Problems with the event fixtures.
    pub fixtures: Vec<FixtureProblem>,
    /// Problems with the baselines, the changelog or the SDK version.
    pub history: Vec<HistoryProblem>,
    /// What today's contracts add (accepted).
    pub additions: Vec<Addition>,
}

impl Report {
    /// Whether nothing stands in the way: additions alone pass.
    pub fn passed(&self) -> bool {
        self.breaking.is_empty()
            && self.events.is_empty()
            && self.fixtures.is_empty()
            && self.history.is_empty()
    }
}

fn by_file<'a, T: fmt::Display + 'a>(
    f: &mut fmt::Formatter<'_>,
    items: impl IntoIterator<Item = (&'a str, &'a T)>,
) -> fmt::Result {
    let mut files: BTreeMap<&str, Vec<&T>> = BTreeMap::new();
    for (file, item) in items {
        files.entry(file).or_default().push(item);
    }
    for (file, items) in files {
        writeln!(f, "  {file}")?;
        for item in items {
            writeln!(f, "    {item}")?;
        }
    }
    Ok(())
}

fn section<T: fmt::Display>(f: &mut fmt::Formatter<'_>, title: &str, items: &[T]) -> fmt::Result {
    if items.is_empty() {
        return Ok(());
    }
    writeln!(f, "\n{title}")?;
    items.iter().try_for_each(|i| writeln!(f, "  {i}"))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let against = self
            .baseline
            .as_ref()
            .map_or_else(|| "no baseline".to_owned(), |v| format!("baseline {v}"));
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        writeln!(f, "contract check of proto/ against {against}: {verdict}")?;
        if !self.breaking.is_empty() {
            writeln!(
                f,
                "\nBreaking changes (to make one deliberately, see README \"Changing the \
                 contracts\"):"
            )?;
            by_file(f, self.breaking.iter().map(|b| (b.file.as_str(), b)))?;
        }
        section(f, "Stored events:", &self.events)?;
        section(
            f,
            "Event fixtures (tests/fixtures/events/):",
            &self.fixtures,
        )?;
        section(
            f,
            "Baselines, CHANGELOG.md and the SDK version:",
            &self.history,
        )?;
        if !self.additions.is_empty() {
            writeln!(f, "\nAdditions since {against} (accepted):")?;
            by_file(f, self.additions.iter().map(|a| (a.file.as_str(), a)))?;
        }
        Ok(())
    }
}
