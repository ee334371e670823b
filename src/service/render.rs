//! Rendering and compiling scripts off the async runtime: every parse, compile or render of a
//! body runs on a blocking thread and is awaited for at most the time budget, so a script that
//! takes long never holds a worker thread that answers requests, and a hand-out, a campaign
//! view or a save answers in bounded time whatever the script.
//!
//! The engine's limits (fuel, text, depth, growth: `catalog::limits`, `catalog::growth`) end
//! almost every runaway render within milliseconds, and the render checks the budget at every
//! piece of text it writes. A render that still outlives its budget (one engine operation on a
//! huge value does not stop in the middle) cannot be killed: it is abandoned (its thread is not
//! waited for) and finishes on its own. What it was of is then guarded, by what it was of and
//! never by its text, so a body changed by a space is no way around the guard:
//!
//! - a **version** of a saved script (hand-outs, campaign views) is marked and not rendered or
//!   compiled again in this process: until the script changes, every later attempt fails at
//!   once ([`RenderError::Marked`]);
//! - a **draft** being saved (by script, or any new script) is refused at once
//!   ([`RenderError::Overdue`]) while the abandoned check still runs.
//!
//! What a version's body reads of a contact (campaign warnings) is compiled here once per
//! version and kept.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{
    catalog::{RenderError, Template},
    ids::ScriptId,
    store::scripts::Script,
};

/// How long one render may take, at hand-out and at save time. An ordinary script renders in
/// well under a millisecond; the engine's fuel stops a runaway loop in tens.
pub const RENDER_BUDGET: Duration = Duration::from_secs(1);

/// The most versions whose attributes read are kept; past it the cache starts again.
const CACHED_VERSIONS: usize = 10_000;

/// What a render or compile is of, for the guard against runaway renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// A saved version of a script.
    Version(ScriptId, i64),
    /// A body being saved: as a new version of a script, or (`None`) as a new script.
    Draft(Option<ScriptId>),
}

impl Job {
    pub fn of(script: &Script) -> Self {
        Job::Version(script.id, script.version)
    }
}

/// Renders script bodies on the blocking pool within a time budget. Cheap to clone.
#[derive(Clone)]
pub struct Renderer {
    budget: Duration,
    guard: Arc<Mutex<Guard>>,
}

#[derive(Default)]
struct Guard {
    /// Jobs with runs still going past their budget, and how many.
    overdue: HashMap<Job, usize>,
    /// Versions a run of went past its budget: never attempted again in this process.
    marked: HashSet<Job>,
    /// What each version's body reads of a contact's attributes.
    reads: HashMap<Job, Arc<BTreeSet<String>>>,
}

/// One render's state, shared by its thread and the request waiting for it.
#[derive(Default)]
struct Run {
    finished: AtomicBool,
    overdue: AtomicBool,
}

impl Renderer {
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            guard: Arc::default(),
        }
    }

    /// Renders `script` with `vars`, or says why it could not within the limits and the budget.
    #[tracing::instrument(skip_all)]
    pub async fn render(&self, script: &Script, vars: Value) -> Result<String, RenderError> {
        self.run(
            Job::of(script),
            script.body.clone(),
            move |body, out_of_time| Template::render(body, &vars, out_of_time),
        )
        .await
    }

    /// The contact attributes a version's body reads, compiled on the pool once per version;
    /// none when it does not compile within the limits and the budget.
    #[tracing::instrument(skip_all)]
    pub async fn attributes_read(&self, script: &Script) -> Arc<BTreeSet<String>> {
        let job = Job::of(script);
        if let Some(read) = self.lock().reads.get(&job) {
            return read.clone();
        }
        let read = self
            .run(job, script.body.clone(), |body, _| {
                metrics::counter!("outcall_script_compiles_total").increment(1);
                Ok(Template::attributes_read(body))
            })
            .await
            .map(Arc::new)
            .unwrap_or_default();
        let mut guard = self.lock();
        if guard.reads.len() >= CACHED_VERSIONS {
            guard.reads.clear();
        }
        guard.reads.insert(job, read.clone());
        read
    }

    /// Runs `work` on `body` on a blocking thread and waits for it at most the budget; `work`
    /// gets a check that says when the budget has run out. Everything that compiles a body
    /// goes through here, not only rendering: the engine evaluates constant expressions while
    /// compiling (`{{ -1 in ([0] * 100000) * 20000 }}`), with no fuel.
    #[tracing::instrument(skip_all)]
    pub async fn run<T: Send + 'static>(
        &self,
        job: Job,
        body: String,
        work: impl FnOnce(&str, &dyn Fn() -> bool) -> Result<T, RenderError> + Send + 'static,
    ) -> Result<T, RenderError> {
        {
            let guard = self.lock();
            if guard.marked.contains(&job) {
                return Err(RenderError::Marked);
            }
            if guard.overdue.contains_key(&job) {
                return Err(RenderError::Overdue);
            }
        }
        let budget_ms = self.budget.as_millis() as u64;
        let deadline = Instant::now() + self.budget;
        let run = Arc::new(Run::default());
        let (thread_run, guard) = (run.clone(), self.guard.clone());
        let task = tokio::task::spawn_blocking(move || {
            let result = work(&body, &|| Instant::now() >= deadline);
            // Under the lock, so the waiting side either sees the work finished or has counted
            // it overdue by the time this looks.
            let mut guard = guard.lock().unwrap_or_else(|e| e.into_inner());
            thread_run.finished.store(true, Ordering::SeqCst);
            if thread_run.overdue.load(Ordering::SeqCst)
                && let Some(count) = guard.overdue.get_mut(&job)
            {
                *count -= 1;
                if *count == 0 {
                    guard.overdue.remove(&job);
                }
            }
            result
        });
        let result = match tokio::time::timeout(self.budget, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(_panicked)) => Err(RenderError::Failed {
                line: None,
                what: "the template engine failed".into(),
            }),
            Err(_elapsed) => {
                let mut guard = self.lock();
                if !run.finished.load(Ordering::SeqCst) {
                    run.overdue.store(true, Ordering::SeqCst);
                    *guard.overdue.entry(job).or_default() += 1;
                    tracing::warn!(
                        budget_ms,
                        ?job,
                        "a script render outlived its time budget; it finishes on its own thread"
                    );
                }
                Err(RenderError::TooSlow { budget_ms })
            }
        };
        if let Err(RenderError::TooSlow { .. }) = result {
            if let Job::Version(..) = job {
                self.lock().marked.insert(job);
            }
            return Err(RenderError::TooSlow { budget_ms });
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Guard> {
        self.guard.lock().unwrap_or_else(|e| e.into_inner())
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
        }
    }

    #[tokio::test]
    async fn an_ordinary_script_renders() {
        let renderer = Renderer::new(RENDER_BUDGET);
        let text = renderer
            .render(&script(1, "您好{{ name }}"), json!({"name": "王芳"}))
            .await;
        assert_eq!(text.as_deref(), Ok("您好王芳"));
    }

    #[tokio::test]
    async fn a_render_that_writes_stops_at_its_budget() {
        let renderer = Renderer::new(Duration::from_millis(1));
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
        let renderer = Renderer::new(Duration::from_millis(1));
        let first = renderer.render(&slow, json!({})).await;
        assert_eq!(first, Err(RenderError::TooSlow { budget_ms: 1 }));
        let again = renderer.render(&slow, json!({})).await;
        assert_eq!(again, Err(RenderError::Marked));
        let read = renderer.attributes_read(&slow).await;
        assert!(read.is_empty());
        // The next version is rendered (with room to, whatever the machine's load).
        let roomy = Renderer {
            budget: RENDER_BUDGET,
            guard: renderer.guard.clone(),
        };
        let next = roomy.render(&script(2, "ok"), json!({})).await;
        assert_eq!(next.as_deref(), Ok("ok"));
    }

    #[tokio::test]
    async fn a_draft_still_running_past_its_budget_is_refused_whatever_its_text() {
        let renderer = Renderer::new(Duration::from_millis(1));
        let job = Job::Draft(Some(ScriptId(7)));
        let slow = |body: &str, _: &dyn Fn() -> bool| {
            Template::parse(body).map_err(|_| RenderError::Failed {
                line: None,
                what: String::new(),
            })
        };
        let body = "{{ -1 in ([0] * 3000) * 1000 }}";
        let first = renderer.run(job, body.into(), slow).await;
        assert_eq!(first, Err(RenderError::TooSlow { budget_ms: 1 }));
        let again = renderer.run(job, format!("{body} "), slow).await;
        assert_eq!(again, Err(RenderError::Overdue));
        let started = Instant::now();
        while renderer.lock().overdue.contains_key(&job) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never finished"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn attributes_read_are_compiled_once_per_version() {
        let renderer = Renderer::new(RENDER_BUDGET);
        let s = script(3, "{{ attributes.plan }}{{ attributes.city }}");
        let read = renderer.attributes_read(&s).await;
        assert_eq!(
            read.iter().map(String::as_str).collect::<Vec<_>>(),
            ["city", "plan"]
        );
        assert!(renderer.lock().reads.contains_key(&Job::of(&s)));
    }
}
