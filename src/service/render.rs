//! Rendering and compiling scripts in worker processes within a time budget: every parse,
//! compile or render of a body is a [`Request`] to a render worker (`render_worker.rs`, a
//! process of the same binary with its address space capped), through the pool
//! (`render_pool.rs`), so a script that builds gigabytes or loops in one engine operation never
//! touches the server's memory or holds its threads, and a hand-out, a campaign view or a save
//! answers in bounded time whatever the script.
//!
//! The engine's limits (fuel, text, depth, growth: `catalog::limits`, `catalog::growth`) end
//! almost every runaway render within milliseconds, in the worker, which answers with the error;
//! the worker checks the budget at every piece of text it writes. A worker that does not answer
//! within the budget is killed (and a new one started); one that dies while it works (its
//! allocation failed under the cap) is reaped ([`RenderError::TooMuchMemory`]). What it was of
//! is then guarded, by what it was of and never by its text, so a body changed by a space is no
//! way around the guard:
//!
//! - a **version** of a saved script (hand-outs, campaign views) is marked and not rendered or
//!   compiled again in this process: until the script changes, every later attempt fails at
//!   once ([`RenderError::Marked`]);
//! - a **draft** being saved (by script, or any new script) is refused at once
//!   ([`RenderError::Overdue`]) for [`DRAFT_COOL_OFF`] after its check was stopped, so saves in
//!   a row cannot keep the workers busy.
//!
//! What a version's body reads of a contact (campaign warnings) is compiled once per version
//! (one compile at a time per version, however many views ask) and kept.

use std::{
    collections::{BTreeSet, HashMap},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    catalog::{Mark, RenderError},
    ids::ScriptId,
    store::scripts::Script,
};

use super::{
    render_pool::{Outcome, Pool},
    render_worker::{Done, Envelope, Request},
};

/// How long one render may take, at hand-out and at save time. An ordinary script renders in
/// well under a millisecond; the engine's fuel stops a runaway loop in tens.
pub const RENDER_BUDGET: Duration = Duration::from_secs(1);

/// How much longer than the budget the server waits for a worker's answer before it kills the
/// worker: room for a worker that stopped at its budget to say so.
const KILL_GRACE: Duration = Duration::from_millis(100);

/// How long a draft is refused at once after its check ran past its budget or its memory.
pub const DRAFT_COOL_OFF: Duration = Duration::from_secs(10);

/// The most versions whose attributes read are kept; past it the cache starts again.
const CACHED_VERSIONS: usize = 10_000;

/// What a render or compile is of, for the guard against runaway renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// A saved version of a script.
    Version(ScriptId, i64),
    /// A body being saved: as a new version of a script, or (`None`) as a new script.
    Draft(Option<ScriptId>),
    /// A body previewed in the console, saved nowhere.
    Preview,
}

impl Job {
    pub fn of(script: &Script) -> Self {
        Job::Version(script.id, script.version)
    }
}

/// Where requests are done.
#[derive(Clone)]
enum Engine {
    /// Worker processes: the only engine outside the library's unit tests.
    Workers(Arc<Pool>),
    /// On a blocking thread of this process, abandoned past the budget (unit tests only).
    #[cfg(test)]
    InThread,
}

/// Renders script bodies in render worker processes within a time budget. Cheap to clone.
#[derive(Clone)]
pub struct Renderer {
    budget: Duration,
    engine: Engine,
    guard: Arc<Mutex<Guard>>,
}

#[derive(Default)]
struct Guard {
    /// Drafts whose check was stopped, and until when they are refused.
    cooling: HashMap<Job, Instant>,
    /// Versions a run of went past its budget or its memory: never attempted again here.
    marked: HashMap<Job, Mark>,
    /// What each version's body reads of a contact's attributes.
    reads: HashMap<Job, Arc<BTreeSet<String>>>,
    /// One compile of a version's attributes read at a time.
    compiling: HashMap<Job, Arc<tokio::sync::Mutex<()>>>,
}

impl Renderer {
    /// A renderer whose work is done by `workers` processes of `program` (`outcall
    /// render-worker`) of `memory_mib` MiB each; there is no other way to render outside the
    /// unit tests.
    pub fn new(
        program: Option<PathBuf>,
        workers: usize,
        memory_mib: u32,
        budget: Duration,
    ) -> anyhow::Result<Self> {
        let program = program.ok_or_else(|| {
            anyhow::anyhow!("no render worker program configured (`Config::render_worker`)")
        })?;
        Ok(Self {
            budget,
            engine: Engine::Workers(Pool::new(program, workers, memory_mib)),
            guard: Arc::default(),
        })
    }

    /// Renders `script` with `vars`, or says why it could not within the limits and the budget.
    #[tracing::instrument(skip_all)]
    pub async fn render(&self, script: &Script, vars: Value) -> Result<String, RenderError> {
        let request = Request::Render {
            key: format!("{}:{}", script.id.0, script.version),
            body: script.body.clone(),
            vars,
        };
        match self.run(Job::of(script), request).await? {
            Done::Text(text) => Ok(text),
            other => Err(unexpected(other)),
        }
    }

    /// Renders `body`, saved nowhere, with `vars`: the console's preview, under the same limits
    /// and budget as a hand-out's render. A preview stopped at its limits holds previews back
    /// for a while, never saves or hand-outs.
    #[tracing::instrument(skip_all)]
    pub async fn preview(&self, body: &str, vars: Value) -> Result<String, RenderError> {
        let request = Request::Render {
            key: "preview".to_owned(),
            body: body.to_owned(),
            vars,
        };
        match self.run(Job::Preview, request).await? {
            Done::Text(text) => Ok(text),
            other => Err(unexpected(other)),
        }
    }

    /// The contact attributes a version's body reads, compiled in a worker once per version;
    /// none when it does not compile within the limits and the budget.
    #[tracing::instrument(skip_all)]
    pub async fn attributes_read(&self, script: &Script) -> Arc<BTreeSet<String>> {
        let job = Job::of(script);
        let gate = {
            let mut guard = self.lock();
            if let Some(read) = guard.reads.get(&job) {
                return read.clone();
            }
            guard.compiling.entry(job).or_default().clone()
        };
        let _compiling = gate.lock().await;
        if let Some(read) = self.lock().reads.get(&job) {
            return read.clone();
        }
        metrics::counter!("outcall_script_compiles_total").increment(1);
        let request = Request::AttributesRead {
            body: script.body.clone(),
        };
        let read = match self.run(job, request).await {
            Ok(Done::Read(read)) => Arc::new(read),
            _ => Arc::default(),
        };
        let mut guard = self.lock();
        if guard.reads.len() >= CACHED_VERSIONS {
            guard.reads.clear();
            guard.compiling.clear();
        }
        guard.reads.insert(job, read.clone());
        guard.compiling.remove(&job);
        read
    }

    /// Whether `body`, being saved as `draft`, parses (`Ok(Err)` says why not) and renders for
    /// the sample contact within the limits and the budget (`Err` says why not).
    #[tracing::instrument(skip_all)]
    pub async fn check(&self, draft: Job, body: &str) -> Result<Result<(), String>, RenderError> {
        let request = Request::Check {
            body: body.to_owned(),
        };
        match self.run(draft, request).await? {
            Done::Checked(checked) => Ok(checked),
            other => Err(unexpected(other)),
        }
    }

    /// Does `request` in a worker within the budget, unless the guard refuses it at once; marks
    /// what it was of when the worker had to be killed or died.
    async fn run(&self, job: Job, request: Request) -> Result<Done, RenderError> {
        {
            let mut guard = self.lock();
            if let Some(mark) = guard.marked.get(&job) {
                return Err(RenderError::Marked(*mark));
            }
            let now = Instant::now();
            guard.cooling.retain(|_, until| *until > now);
            if guard.cooling.contains_key(&job) {
                return Err(RenderError::Overdue);
            }
        }
        let budget_ms = self.budget.as_millis() as u64;
        let envelope = Envelope { budget_ms, request };
        let outcome = match &self.engine {
            Engine::Workers(pool) => pool.run(&envelope, self.budget + KILL_GRACE).await,
            #[cfg(test)]
            Engine::InThread => in_thread(envelope, self.budget + KILL_GRACE).await,
        };
        let (result, mark) = match outcome {
            Outcome::Answered(Err(RenderError::TooSlow { .. })) | Outcome::Overran => {
                (Err(RenderError::TooSlow { budget_ms }), Some(Mark::Time))
            }
            Outcome::Answered(reply) => (reply, None),
            Outcome::Died => (Err(RenderError::TooMuchMemory), Some(Mark::Memory)),
            Outcome::Unavailable => (Err(RenderError::NoWorker), None),
        };
        if let Some(mark) = mark {
            tracing::warn!(?job, reason = ?mark, "a script render was stopped at its limits");
            let mut guard = self.lock();
            match job {
                Job::Version(..) => {
                    guard.marked.insert(job, mark);
                }
                Job::Draft(_) | Job::Preview => {
                    guard.cooling.insert(job, Instant::now() + DRAFT_COOL_OFF);
                }
            }
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Guard> {
        self.guard.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A worker's answer of the wrong kind for its request: a defect, failed like the engine's.
fn unexpected(done: Done) -> RenderError {
    tracing::error!(
        ?done,
        "a render worker answered a request with another kind of answer"
    );
    RenderError::Failed {
        line: None,
        what: "the template engine failed".into(),
    }
}

/// The unit tests' engine: the worker's own code on a blocking thread, abandoned past `wait`.
#[cfg(test)]
async fn in_thread(envelope: Envelope, wait: Duration) -> Outcome {
    let deadline = Instant::now() + Duration::from_millis(envelope.budget_ms);
    let task = tokio::task::spawn_blocking(move || {
        let mut compiled = crate::catalog::Compiled::default();
        super::render_worker::serve(&mut compiled, envelope.request, &|| {
            Instant::now() >= deadline
        })
    });
    match tokio::time::timeout(wait, task).await {
        Ok(Ok(reply)) => Outcome::Answered(reply),
        Ok(Err(_panicked)) => Outcome::Died,
        Err(_elapsed) => Outcome::Overran,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn script(version: i64, body: &str) -> Script {
        Script {
            id: ScriptId(7),
            name: "s".into(),
            version,
            body: body.into(),
            questions: Default::default(),
        }
    }

    fn in_thread(budget: Duration) -> Renderer {
        Renderer {
            budget,
            engine: Engine::InThread,
            guard: Arc::default(),
        }
    }

    #[test]
    fn no_renderer_is_made_without_a_worker_program() {
        assert!(Renderer::new(None, 2, 512, RENDER_BUDGET).is_err());
    }

    #[tokio::test]
    async fn an_ordinary_script_renders() {
        let renderer = in_thread(RENDER_BUDGET);
        let text = renderer
            .render(&script(1, "您好{{ name }}"), json!({"name": "王芳"}))
            .await;
        assert_eq!(text.as_deref(), Ok("您好王芳"));
    }

    #[tokio::test]
    async fn a_render_that_writes_stops_at_its_budget() {
        let renderer = in_thread(Duration::from_millis(1));
        let body = "{% for i in range(100000) %}{{ i }}{% endfor %}".repeat(2);
        let started = Instant::now();
        let err = renderer
            .render(&script(1, &body), json!({}))
            .await
            .unwrap_err();
        assert_eq!(err, RenderError::TooSlow { budget_ms: 1 });
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_version_that_ran_past_its_budget_is_not_rendered_again_until_it_changes() {
        // One engine operation that writes nothing for a while: the budget cannot stop it.
        let slow = script(1, "{{ -1 in ([0] * 3000) * 1000 }}");
        let renderer = in_thread(Duration::from_millis(1));
        let first = renderer.render(&slow, json!({})).await;
        assert_eq!(first, Err(RenderError::TooSlow { budget_ms: 1 }));
        let again = renderer.render(&slow, json!({})).await;
        assert_eq!(again, Err(RenderError::Marked(Mark::Time)));
        let read = renderer.attributes_read(&slow).await;
        assert!(read.is_empty());
        // The next version is rendered (with room to, whatever the machine's load).
        let roomy = Renderer {
            budget: RENDER_BUDGET,
            ..renderer.clone()
        };
        let next = roomy.render(&script(2, "ok"), json!({})).await;
        assert_eq!(next.as_deref(), Ok("ok"));
    }

    #[tokio::test]
    async fn a_draft_whose_check_ran_past_its_budget_is_refused_for_a_while_whatever_its_text() {
        let renderer = in_thread(Duration::from_millis(1));
        let job = Job::Draft(Some(ScriptId(7)));
        let body = "{{ -1 in ([0] * 3000) * 1000 }}";
        let first = renderer.check(job, body).await;
        assert_eq!(first, Err(RenderError::TooSlow { budget_ms: 1 }));
        let again = renderer.check(job, &format!("{body} ")).await;
        assert_eq!(again, Err(RenderError::Overdue));
        // Other drafts are checked (with room to, whatever the machine's load).
        let roomy = Renderer {
            budget: RENDER_BUDGET,
            ..renderer.clone()
        };
        let other = roomy.check(Job::Draft(None), "ok").await;
        assert_eq!(other, Ok(Ok(())));
        roomy.lock().cooling.insert(job, Instant::now());
        assert_eq!(roomy.check(job, "ok").await, Ok(Ok(())));
    }

    #[tokio::test]
    async fn attributes_read_are_compiled_once_per_version() {
        let renderer = in_thread(RENDER_BUDGET);
        let s = script(3, "{{ attributes.plan }}{{ attributes.city }}");
        let read = renderer.attributes_read(&s).await;
        assert_eq!(
            read.iter().map(String::as_str).collect::<Vec<_>>(),
            ["city", "plan"]
        );
        assert!(renderer.lock().reads.contains_key(&Job::of(&s)));
    }
}
