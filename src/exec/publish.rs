//! Publishing into the registry during a run, as HCP Packer's lifecycle has it: every release
//! the run publishes to is begun RUNNING before any build starts, with one expected build per
//! publishing source (a rerun learns which are DONE and skips those sessions); each session's
//! build goes RUNNING when the session starts and beats a heartbeat while it runs; its publish
//! step attaches the images and marks it DONE, which completes the release once every expected
//! build is; a session that fails marks its build FAILED (CANCELLED when interrupted).

use super::state::RunState;
use super::ui::Ui;
use crate::body::BodyValue;
use crate::diagnostic::Diagnostic;
use crate::plan::{BuildGraph, Node, Session, SessionId, Work};
use crate::plugins::sdk::registry::blocking;
use crate::plugins::sdk::{ArtifactImage, Publication, ReleaseTarget, StepError, StepInfo};
use crate::plugins::Decoded;
use crate::registry::model::{
    BeginRelease, BuildEnd, BuildStart, BuildStatus, Completion, NewImage, ParentRef, ReleaseStatus,
};
use crate::registry::{self, Store};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// How long a RUNNING build may go without a heartbeat before a later run marks it FAILED;
/// `KILN_REGISTRY_STALE_AFTER` (a duration such as `90s`) changes it. Heartbeats go out six
/// times as often.
const STALE_AFTER: Duration = Duration::from_secs(60);
/// The kind of template kiln builds from, as HCP records a version's: HCL2 covers `.pkr.hcl` and
/// `.pkr.json` alike.
const TEMPLATE_TYPE: &str = "HCL2";

/// A release by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    bucket: String,
    product: String,
    release: String,
}

impl Key {
    fn path(&self) -> String {
        format!("{}/{}/{}", self.bucket, self.product, self.release)
    }
}

/// One session's build in one release.
#[derive(Debug)]
struct Entry {
    key: Key,
    component: String,
    release_id: Option<String>,
    build_id: Option<String>,
    /// Its start is on its way to the store.
    starting: bool,
    /// DONE before this run began.
    done_before: bool,
    /// Published in this run.
    finished: bool,
}

#[derive(Debug, Default)]
struct Books {
    /// The builds each publishing session owns.
    sessions: HashMap<SessionId, Vec<Entry>>,
    /// The builds each release known before the run expects.
    expected: BTreeMap<Key, Vec<String>>,
    /// Releases begun in this run, by key: their IDs and whether they were complete.
    begun: BTreeMap<Key, (String, bool)>,
    /// What the run's data sources read from the registry.
    parents: Vec<ParentRef>,
}

/// The run's side of the registry.
pub struct Registry {
    store: OnceLock<Result<Arc<dyn Store>, String>>,
    /// The release name of `hcp_packer_registry` publishing: `HCP_PACKER_BUILD_FINGERPRINT`,
    /// else a new ULID per run, as Packer does.
    fingerprint: String,
    stale_after: Duration,
    books: Mutex<Books>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Registry {
    pub fn new() -> Registry {
        let stale_after = env("KILN_REGISTRY_STALE_AFTER")
            .and_then(|d| crate::functions::gotime::wait_duration(&d).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(STALE_AFTER);
        Registry {
            store: OnceLock::new(),
            fingerprint: env("HCP_PACKER_BUILD_FINGERPRINT")
                .unwrap_or_else(|| ulid::Ulid::generate().to_string()),
            stale_after,
            books: Mutex::new(Books::default()),
        }
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The store, opened on first use.
    pub fn store(&self) -> Result<Arc<dyn Store>, StepError> {
        self.store
            .get_or_init(|| {
                registry::open_default()
                    .map(Arc::from)
                    .map_err(|e| match e.hint() {
                        Some(h) => format!("cannot open the registry: {e} ({h})"),
                        None => format!("cannot open the registry: {e}"),
                    })
            })
            .clone()
            .map_err(StepError::new)
    }

    /// How often a running build's heartbeat goes out.
    pub fn heartbeat_every(&self) -> Duration {
        self.stale_after / 6
    }

    /// True when the run publishes anything.
    pub fn publishes(&self) -> bool {
        !self.books().sessions.is_empty()
    }

    /// Before anything starts: for every release the graph publishes to whose name is known,
    /// learn which of its builds are DONE (their sessions are skipped), and refuse the run
    /// when the release is complete and lacks one of them.
    pub fn begin(&self, graph: &BuildGraph, ui: &Ui) -> Result<(), Vec<Diagnostic>> {
        let mut groups: BTreeMap<Key, Vec<(SessionId, &Node)>> = BTreeMap::new();
        let mut lazy: Vec<SessionId> = Vec::new();
        let mut diags = Vec::new();
        for release in graph.releases() {
            for p in &release.publishers {
                let node = graph.node(*p);
                let Some(s) = node.session else { continue };
                match self.planned_target(node, &graph.sessions()[s]) {
                    Ok(Some(key)) => groups.entry(key).or_default().push((s, node)),
                    Ok(None) => lazy.push(s),
                    Err(why) => diags.push(Diagnostic::error(node.span, why).with_hint(
                        "set `bucket_name` in the hcp_packer_registry block or HCP_PACKER_BUCKET_NAME",
                    )),
                }
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        if groups.is_empty() && lazy.is_empty() {
            return Ok(());
        }
        let store = self
            .store()
            .map_err(|e| vec![Diagnostic::global(e.to_string())])?;
        match store.expire_stale_builds(self.stale_after) {
            Ok(expired) if !expired.is_empty() => ui.plain(&format!(
                "==> Marked {} build(s) FAILED in the registry: the kiln process building them stopped",
                expired.len()
            )),
            Ok(_) => {}
            Err(e) => return Err(vec![store_diagnostic(None, e)]),
        }
        let mut books = self.books();
        for s in lazy {
            // Begun when it publishes, once its release's name is known.
            books.sessions.entry(s).or_default();
        }
        for (key, publishers) in groups {
            let sessions: Vec<SessionId> = publishers
                .iter()
                .map(|(s, _)| *s)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let components = components(graph, &sessions);
            let expected: Vec<String> = components.values().cloned().collect();
            // Read only: the release is begun when its first session starts, so a run that
            // fails before any build starts (a data source refusing a revoked parent) writes
            // nothing.
            let done: Vec<String> = match store.release(&key.bucket, &key.product, &key.release) {
                Ok(release) => {
                    if release.is_complete() {
                        if let Some(missing) = expected
                            .iter()
                            .find(|c| !release.builds.iter().any(|b| b.component == **c))
                        {
                            diags.push(
                                Diagnostic::error(
                                    publishers[0].1.span,
                                    format!(
                                        "release {} is complete and cannot change: it has no build `{missing}`",
                                        key.path()
                                    ),
                                )
                                .with_hint("publish into a new release (another release name or HCP_PACKER_BUILD_FINGERPRINT), or revoke this one"),
                            );
                            continue;
                        }
                    }
                    release
                        .builds
                        .iter()
                        .filter(|b| b.status == BuildStatus::Done)
                        .map(|b| b.component.clone())
                        .collect()
                }
                Err(registry::Error::NotFound { .. }) => Vec::new(),
                Err(e) => {
                    diags.push(store_diagnostic(Some(publishers[0].1), e));
                    continue;
                }
            };
            ui.plain(&format!(
                "==> Tracking release {} in the registry ({} build{}: {})",
                key.path(),
                expected.len(),
                if expected.len() == 1 { "" } else { "s" },
                expected.join(", ")
            ));
            books.expected.insert(key.clone(), expected);
            for (s, component) in components {
                let done_before = done.contains(&component);
                if done_before {
                    ui.plain(&format!(
                        "==> Build '{}' is already DONE in release {}; skipping it",
                        graph.sessions()[s].name,
                        key.path()
                    ));
                }
                books.sessions.entry(s).or_default().push(Entry {
                    key: key.clone(),
                    component,
                    release_id: None,
                    build_id: None,
                    starting: false,
                    done_before,
                    finished: false,
                });
            }
        }
        if diags.is_empty() {
            Ok(())
        } else {
            Err(diags)
        }
    }

    /// Where a publish step publishes, when known before the run.
    fn planned_target(&self, node: &Node, session: &Session) -> Result<Option<Key>, String> {
        match &node.work {
            Work::PostProcessor { step, .. } => {
                let target = match &step.decoded {
                    Some(Decoded::PostProcessor(pp)) => pp.publishes(),
                    _ => None,
                };
                Ok(target.and_then(|t| {
                    Some(Key {
                        bucket: t.bucket?,
                        product: t.product?,
                        release: t.release?,
                    })
                }))
            }
            Work::Registry(binder) => {
                let (body, _) = binder.preview();
                Ok(registry_product(&body, session)?.map(|product| Key {
                    bucket: registry::default_bucket(),
                    product,
                    release: self.fingerprint.clone(),
                }))
            }
            _ => Ok(None),
        }
    }

    /// What an `hcp_packer_registry` block publishes for `session`, its body evaluated at
    /// the publish step: the product, the build's labels and the channels (images to add).
    pub fn registry_block(
        &self,
        body: &BodyValue,
        session: &Session,
    ) -> Result<Publication, String> {
        let product = registry_product(body, session)?.ok_or_else(|| {
            "the hcp_packer_registry block's `bucket_name` is not known".to_string()
        })?;
        let labels = body
            .attr("build_labels")
            .and_then(|a| a.value.as_map())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let channels = body
            .attr("channels")
            .and_then(|a| a.value.as_sequence())
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Publication {
            target: ReleaseTarget {
                bucket: Some(registry::default_bucket()),
                product: Some(product),
                release: Some(self.fingerprint.clone()),
            },
            channels,
            labels,
            images: Vec::new(),
        })
    }

    /// True when every build this session publishes was DONE before the run: the session is
    /// skipped.
    pub fn skips(&self, s: SessionId) -> bool {
        self.books()
            .sessions
            .get(&s)
            .is_some_and(|entries| !entries.is_empty() && entries.iter().all(|e| e.done_before))
    }

    /// A session starts: begin its releases (with every build each expects) and mark its
    /// builds RUNNING, recording the parents the data sources read so far.
    pub async fn start(&self, s: SessionId, platform: &'static str) -> Result<(), StepError> {
        let (todo, parents): (Vec<(usize, BeginRelease, BuildStart)>, Vec<ParentRef>) = {
            let mut books = self.books();
            let Books {
                sessions,
                expected,
                parents,
                ..
            } = &mut *books;
            let Some(entries) = sessions.get_mut(&s) else {
                return Ok(());
            };
            let todo = entries
                .iter_mut()
                .enumerate()
                .filter(|(_, e)| e.build_id.is_none() && !e.starting && !e.done_before)
                .filter_map(|(i, e)| {
                    let components = expected.get(&e.key)?.clone();
                    e.starting = true;
                    let begin = BeginRelease {
                        bucket: e.key.bucket.clone(),
                        product: e.key.product.clone(),
                        release: e.key.release.clone(),
                        components,
                        channels: Vec::new(),
                        template_type: Some(TEMPLATE_TYPE.into()),
                    };
                    let start = BuildStart {
                        release_id: String::new(),
                        component: e.component.clone(),
                        provider: Some(platform.to_string()),
                        labels: BTreeMap::new(),
                        source_image: None,
                        ..BuildStart::default()
                    };
                    Some((i, begin, start))
                })
                .collect();
            (todo, parents.clone())
        };
        if todo.is_empty() {
            return Ok(());
        }
        let store = self.store()?;
        let started = blocking(move || {
            let mut out = Vec::new();
            for (i, begin, start) in todo {
                let begun = store.begin_release(&begin)?;
                let release_id = begun.release.id.clone();
                let complete = begun.release.is_complete();
                if !complete {
                    for parent in &parents {
                        store.add_dependency(&release_id, parent)?;
                    }
                }
                let build = store.start_build(&BuildStart {
                    release_id: release_id.clone(),
                    ..start
                })?;
                out.push((i, release_id, complete, build.id));
            }
            Ok(out)
        })
        .await?;
        let mut books = self.books();
        for (i, release_id, complete, build_id) in started {
            let key = match books.sessions.get_mut(&s).and_then(|e| e.get_mut(i)) {
                Some(e) => {
                    e.release_id = Some(release_id.clone());
                    e.build_id = Some(build_id);
                    e.key.clone()
                }
                None => continue,
            };
            books.begun.insert(key, (release_id, complete));
        }
        Ok(())
    }

    /// Beat the heartbeat of every build this run is building.
    pub fn beat(&self) {
        let ids: Vec<String> = self
            .books()
            .sessions
            .values()
            .flatten()
            .filter(|e| !e.finished)
            .filter_map(|e| e.build_id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        if let Ok(store) = self.store() {
            for id in ids {
                // A build that ended meanwhile is no longer RUNNING; nothing to do.
                let _ = store.heartbeat(&id);
            }
        }
    }

    /// A session ended: its builds that did not publish are FAILED (CANCELLED when it was
    /// interrupted). Returns what to say.
    pub fn session_ended(
        &self,
        s: SessionId,
        error: Option<&StepError>,
        ui: &Ui,
    ) -> Option<String> {
        let error = error?;
        let ids: Vec<(String, Key)> = {
            let mut books = self.books();
            books
                .sessions
                .get_mut(&s)?
                .iter_mut()
                .filter(|e| !e.finished)
                .filter_map(|e| {
                    // It ends here: no more heartbeats.
                    e.finished = true;
                    Some((e.build_id.clone()?, e.key.clone()))
                })
                .collect()
        };
        if ids.is_empty() {
            return None;
        }
        let store = self.store().ok()?;
        let (end, status) = if error.is_cancelled() {
            (BuildEnd::Cancelled, "CANCELLED")
        } else {
            (BuildEnd::Failed, "FAILED")
        };
        // What the registry keeps is redacted as the output is.
        let message = ui.redact(&error.to_string());
        let mut marked = Vec::new();
        let fail = || {
            for (id, key) in ids {
                if store.fail_build(&id, end, &message).is_ok() {
                    marked.push(key.path());
                }
            }
        };
        // The scheduler calls this from its async threads; a store may block (an HTTP call).
        match tokio::runtime::Handle::try_current() {
            Ok(_) => tokio::task::block_in_place(fail),
            Err(_) => fail(),
        }
        (!marked.is_empty())
            .then(|| format!("Marked its build {status} in release {}", marked.join(", ")))
    }

    /// A data source read `parent` from the registry: record it on every release the run has
    /// begun (and, through `parents`, on those it begins later).
    pub async fn built_from(&self, parent: ParentRef) -> Result<(), StepError> {
        let children: Vec<String> = {
            let mut books = self.books();
            if books.parents.contains(&parent) {
                return Ok(());
            }
            books.parents.push(parent.clone());
            books
                .begun
                .values()
                .filter(|(_, complete)| !complete)
                .map(|(id, _)| id.clone())
                .collect()
        };
        if children.is_empty() {
            return Ok(());
        }
        let store = self.store()?;
        blocking(move || {
            for child in children {
                store.add_dependency(&child, &parent)?;
            }
            Ok(())
        })
        .await
    }

    /// Publish one session's images (the publish step of `hcp-packer-publish` or of an
    /// `hcp_packer_registry` block). Returns what to say.
    pub async fn publish(
        &self,
        state: &RunState,
        step: &StepInfo,
        publication: Publication,
    ) -> Result<Vec<String>, StepError> {
        let s = step
            .session
            .ok_or_else(|| StepError::new("only a build's step can publish"))?;
        let session = &state.graph.sessions()[s];
        let Publication {
            target,
            channels,
            labels,
            images,
        } = publication;
        let key = Key {
            bucket: target.bucket.unwrap_or_else(registry::default_bucket),
            product: target
                .product
                .ok_or_else(|| StepError::new("the registry product is not set"))?,
            release: target.release.unwrap_or_else(|| self.fingerprint.clone()),
        };
        let images = if images.is_empty() {
            state
                .session(s)
                .builder_artifact
                .as_ref()
                .map(|a| a.images.clone())
                .unwrap_or_default()
        } else {
            images
        };
        let images = one_per_region(images);
        let Some(first) = images.first().cloned() else {
            return Err(StepError::new(format!(
                "nothing to publish to {}: the build's artifact has no images",
                key.path()
            )));
        };
        if let Some(other) = images.iter().find(|i| i.provider != first.provider) {
            return Err(StepError::new(format!(
                "a build publishes to one provider, but its images are on {} and {}",
                first.provider, other.provider
            )));
        }
        let (component, parents, index) = {
            let mut books = self.books();
            let parents = books.parents.clone();
            let entries = books.sessions.entry(s).or_default();
            let index = match entries.iter().position(|e| e.key == key) {
                Some(i) => i,
                None => {
                    entries.push(Entry {
                        key: key.clone(),
                        component: session.source.clone(),
                        release_id: None,
                        build_id: None,
                        starting: false,
                        done_before: false,
                        finished: false,
                    });
                    entries.len() - 1
                }
            };
            (entries[index].component.clone(), parents, index)
        };
        let store = self.store()?;
        let new_images: Vec<NewImage> = images
            .iter()
            .map(|i| NewImage {
                region: i.region.clone(),
                external_id: i.id.clone(),
            })
            .collect();
        let begin = BeginRelease {
            bucket: key.bucket.clone(),
            product: key.product.clone(),
            release: key.release.clone(),
            components: vec![component.clone()],
            channels,
            template_type: Some(TEMPLATE_TYPE.into()),
        };
        let start = BuildStart {
            release_id: String::new(),
            component: component.clone(),
            provider: Some(first.provider.clone()),
            labels,
            source_image: first.source.clone(),
            ..BuildStart::default()
        };
        let (release_id, complete, build_id, completion) = blocking(move || {
            let begun = store.begin_release(&begin)?;
            let release_id = begun.release.id.clone();
            let complete = begun.release.is_complete();
            if !complete {
                for parent in &parents {
                    store.add_dependency(&release_id, parent)?;
                }
            }
            let build = store.start_build(&BuildStart {
                release_id: release_id.clone(),
                ..start
            })?;
            let completion = store.finish_build(&build.id, &new_images)?;
            Ok((release_id, complete, build.id, completion))
        })
        .await?;
        {
            let mut books = self.books();
            books
                .begun
                .entry(key.clone())
                .or_insert((release_id.clone(), complete));
            if let Some(e) = books
                .sessions
                .get_mut(&s)
                .and_then(|entries| entries.get_mut(index))
            {
                e.release_id = Some(release_id);
                e.build_id = Some(build_id);
                e.finished = true;
            }
        }
        let mut said = vec![format!(
            "Published {} image{} ({}) to release {} as build {component}",
            images.len(),
            if images.len() == 1 { "" } else { "s" },
            images
                .iter()
                .map(|i| format!("{} in {}", i.id, i.region))
                .collect::<Vec<_>>()
                .join(", "),
            key.path()
        )];
        match completion {
            // The release's finalize step says so.
            Completion::Completed { .. } => {}
            Completion::Pending { waiting_for, .. } => said.push(format!(
                "Release {} waits for {}",
                key.path(),
                waiting_for.join(", ")
            )),
            Completion::Unchanged { .. } => {}
        }
        Ok(said)
    }

    /// What the release a finalize node stands for looks like now, for its step to say: the
    /// release of its first publisher's session.
    pub async fn report(&self, publishers: &[SessionId]) -> Result<Vec<String>, StepError> {
        let key = {
            let books = self.books();
            publishers
                .iter()
                .filter_map(|s| books.sessions.get(s))
                .flatten()
                .map(|e| e.key.clone())
                .next()
        };
        let Some(key) = key else {
            return Ok(Vec::new());
        };
        let store = self.store()?;
        let k = key.clone();
        let (release, channels) = blocking(move || {
            let release = store.release(&k.bucket, &k.product, &k.release)?;
            let channels: Vec<String> = store
                .channels(&k.bucket, &k.product)?
                .into_iter()
                .filter(|c| c.release.as_deref() == Some(k.release.as_str()))
                .map(|c| c.name)
                .collect();
            Ok((release, channels))
        })
        .await?;
        let mut said = Vec::new();
        if release.is_complete() {
            said.push(format!(
                "Release {} is complete: {} as v{}{}",
                key.path(),
                release.status,
                release.version.unwrap_or(0),
                if channels.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", on channel{} {}",
                        if channels.len() == 1 { "" } else { "s" },
                        channels.join(", ")
                    )
                }
            ));
        } else {
            let waiting: Vec<String> = release
                .builds
                .iter()
                .filter(|b| b.status != BuildStatus::Done)
                .map(|b| format!("{} ({})", b.component, b.status))
                .collect();
            said.push(format!(
                "Release {} is {}; waiting for {}",
                key.path(),
                release.status,
                waiting.join(", ")
            ));
        }
        Ok(said)
    }

    /// After the run: each release this run left incomplete, with how to resume it (Packer's
    /// status summary).
    pub fn closing(&self, ui: &Ui) {
        let keys: Vec<Key> = self.books().begun.keys().cloned().collect();
        let Ok(store) = self.store() else { return };
        for key in keys {
            let Ok(release) = store.release(&key.bucket, &key.product, &key.release) else {
                continue;
            };
            if release.is_complete() || release.status == ReleaseStatus::Running {
                continue;
            }
            let mut text = format!(
                "\nRelease {} is {}; these builds have no images yet:\n",
                key.path(),
                release.status
            );
            for b in release
                .builds
                .iter()
                .filter(|b| b.status != BuildStatus::Done)
            {
                text.push_str(&format!("* {}: {}\n", b.component, b.status));
            }
            text.push_str(&format!(
                "\nRun the build again to resume it: builds that are DONE are skipped{}.",
                if self.fingerprint == key.release {
                    format!(" (set HCP_PACKER_BUILD_FINGERPRINT={:?})", key.release)
                } else {
                    String::new()
                }
            ));
            ui.plain(&text);
        }
    }
}

/// The product an `hcp_packer_registry` block publishes to, as Packer picks it:
/// `HCP_PACKER_BUCKET_NAME`, else its `bucket_name`, else the build's name; `None` while its
/// `bucket_name` is known only during the build.
fn registry_product(body: &BodyValue, session: &Session) -> Result<Option<String>, String> {
    if let Some(p) = env("HCP_PACKER_BUCKET_NAME") {
        return Ok(Some(p));
    }
    if body.attr("bucket_name").is_some() {
        return Ok(crate::body::known_attr(body, "bucket_name"));
    }
    if !session.config.build_name.is_empty() {
        return Ok(Some(session.config.build_name.clone()));
    }
    Err("the registry product is not set: the hcp_packer_registry block has no `bucket_name`, the build no name, and HCP_PACKER_BUCKET_NAME is unset".into())
}

/// Each session's component name in a release: its source (`file.note`), or, where two
/// builds publish the same source into it, Packer's build name (`web.file.note`).
fn components(graph: &BuildGraph, sessions: &[SessionId]) -> BTreeMap<SessionId, String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for s in sessions {
        *count.entry(&graph.sessions()[*s].source).or_default() += 1;
    }
    sessions
        .iter()
        .map(|s| {
            let session = &graph.sessions()[*s];
            let name = if count[session.source.as_str()] > 1 {
                session.name.clone()
            } else {
                session.source.clone()
            };
            (*s, name)
        })
        .collect()
}

/// One image per region, the first named.
fn one_per_region(images: Vec<ArtifactImage>) -> Vec<ArtifactImage> {
    let mut seen = BTreeSet::new();
    images
        .into_iter()
        .filter(|i| seen.insert(i.region.clone()))
        .collect()
}

/// A store refusal as a diagnostic at the publishing block.
fn store_diagnostic(node: Option<&Node>, e: registry::Error) -> Diagnostic {
    let d = match node {
        Some(n) => Diagnostic::error(n.span, e.to_string()),
        None => Diagnostic::global(e.to_string()),
    };
    match e.hint() {
        Some(h) => d.with_hint(h.to_string()),
        None => d,
    }
}
