//! `kiln cleanup [RUN] [-region R]...`: delete what killed runs left in the cloud, from their
//! journals (every resource a run creates is written there the moment its ID is known) and
//! from the run tag every resource carries, and say what became of each ID.

use crate::plugins::amazon::cleanup::{Outcome, Resource, Sweep, Target};
use crate::plugins::amazon::run::PLUGIN as AMAZON;
use crate::plugins::sdk::journal::{self, Journal, Op, Record};
use clap::Args;
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;

/// Options of `kiln cleanup`.
#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Also search this region for resources by their `kiln:run` tag (repeatable); with no
    /// journal at hand, this is how kiln finds them.
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,
    /// The EC2 endpoint for the regions of `-region` (else AWS_ENDPOINT_URL_EC2 or
    /// AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The run to clean up, by ID (a journal's name, a `kiln:run` tag's value); every
    /// unfinished run when omitted (and, with `-region`, every run's tagged resources there).
    pub run: Option<String>,
}

/// One place to sweep: a region reached one way, and which runs' resources to look for there.
#[derive(Default)]
struct Place {
    /// The journals' outstanding resources in this place.
    listed: Vec<Resource>,
    /// Search by tag for these runs' resources...
    runs: Vec<String>,
    /// ...or for every run's.
    any_run: bool,
}

/// Run `kiln cleanup`.
pub fn run(args: CleanupArgs) -> anyhow::Result<i32> {
    let journals = journals(&args)?;
    let mut places: BTreeMap<(String, String, String), Place> = BTreeMap::new();
    let mut unsupported = Vec::new();
    for (journal, records) in &journals {
        for r in journal::outstanding(records) {
            if r.plugin != AMAZON {
                unsupported.push(format!(
                    "{} {} of plugin {:?} (run {})",
                    r.kind, r.id, r.plugin, journal.run
                ));
                continue;
            }
            let place = places
                .entry((r.region.clone(), r.endpoint.clone(), r.profile.clone()))
                .or_default();
            place.listed.push(Resource {
                kind: r.kind.clone(),
                id: r.id.clone(),
                run: journal.run.clone(),
            });
            if !place.runs.contains(&journal.run) {
                place.runs.push(journal.run.clone());
            }
        }
    }
    let endpoint = args.endpoint.clone().unwrap_or_default();
    for region in &args.region {
        let place = places
            .entry((region.clone(), endpoint.clone(), String::new()))
            .or_default();
        match &args.run {
            Some(run) if !place.runs.contains(run) => place.runs.push(run.clone()),
            Some(_) => {}
            None => place.any_run = true,
        }
    }
    for what in &unsupported {
        eprintln!("Cannot clean up {what}: kiln has no cleanup for that plugin");
    }
    if places.is_empty() {
        println!("Nothing to clean up.");
        return Ok(if unsupported.is_empty() { 0 } else { 1 });
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut outcomes = Vec::new();
    let mut failed = !unsupported.is_empty();
    for ((region, endpoint, profile), place) in &places {
        let target = Target {
            region: region.clone(),
            endpoint: endpoint.clone(),
            profile: profile.clone(),
        };
        match runtime.block_on(sweep(&target, place)) {
            Ok(done) => outcomes.extend(done),
            Err(e) => {
                failed = true;
                eprintln!("Cannot clean up in {region}: {e}");
                // The runs looked for here are not done.
                for run in &place.runs {
                    outcomes.push(Outcome {
                        resource: Resource {
                            kind: String::new(),
                            id: String::new(),
                            run: run.clone(),
                        },
                        region: region.clone(),
                        result: Err(e.clone()),
                    });
                }
            }
        }
    }
    let mut deleted = 0;
    for o in outcomes.iter().filter(|o| !o.resource.id.is_empty()) {
        let r = &o.resource;
        let what = kind_name(&r.kind);
        match &o.result {
            Ok(()) => {
                deleted += 1;
                println!("Deleted {what} {} in {} (run {})", r.id, o.region, r.run);
            }
            Err(e) => {
                failed = true;
                eprintln!(
                    "Could not delete {what} {} in {} (run {}): {e}",
                    r.id, o.region, r.run
                );
            }
        }
    }
    record(&journals, &outcomes)?;
    if deleted == 0 && !failed {
        println!("Nothing to clean up.");
    }
    Ok(if failed { 1 } else { 0 })
}

/// The journals to go through: RUN's, else every one with something left to delete.
fn journals(args: &CleanupArgs) -> anyhow::Result<Vec<(Journal, Vec<Record>)>> {
    let mut out = Vec::new();
    match &args.run {
        Some(run) => {
            let journal = Journal::of(run)?;
            if journal.exists() {
                let records = journal.read()?;
                out.push((journal, records));
            } else if args.region.is_empty() {
                anyhow::bail!(
                    "there is no journal of run {run} in {}; name the regions to search by tag with `-region`",
                    journal::dir()?.display()
                );
            }
        }
        None => {
            for journal in Journal::all()? {
                let records = journal.read()?;
                if !journal::outstanding(&records).is_empty() {
                    out.push((journal, records));
                }
            }
        }
    }
    Ok(out)
}

/// Find and delete what is left in one place.
async fn sweep(target: &Target, place: &Place) -> Result<Vec<Outcome>, String> {
    let sweep = Sweep::connect(target, CancellationToken::new())
        .await
        .map_err(|e| e.message())?;
    let mut doomed = place.listed.clone();
    if place.any_run {
        doomed.extend(sweep.tagged(None).await.map_err(|e| e.message())?);
    } else {
        for run in &place.runs {
            doomed.extend(sweep.tagged(Some(run)).await.map_err(|e| e.message())?);
        }
    }
    Ok(sweep.delete(&doomed).await)
}

/// Write each deletion into its run's journal (when there is one), and mark a journal done
/// once nothing of its run failed to go.
fn record(journals: &[(Journal, Vec<Record>)], outcomes: &[Outcome]) -> anyhow::Result<()> {
    let mut runs: BTreeMap<&str, bool> = BTreeMap::new();
    for o in outcomes {
        let ok = o.result.is_ok();
        *runs.entry(o.resource.run.as_str()).or_insert(true) &= ok;
        if !ok || o.resource.id.is_empty() {
            continue;
        }
        let journal = Journal::of(&o.resource.run)?;
        if journal.exists() {
            journal.append(&Record::resource(
                Op::Deleted,
                AMAZON,
                &o.resource.kind,
                &o.resource.id,
                &o.region,
            ))?;
        }
    }
    for (journal, _) in journals {
        if runs.get(journal.run.as_str()).copied().unwrap_or(true) {
            journal.append(&Record::done())?;
        }
    }
    Ok(())
}

fn kind_name(kind: &str) -> &str {
    match kind {
        "key_pair" => "key pair",
        "security_group" => "security group",
        "image" => "AMI",
        other => other,
    }
}
