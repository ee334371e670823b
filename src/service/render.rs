//! Rendering scripts off the async runtime: every render runs on a blocking thread and is
//! awaited for at most the time budget, so a script that takes long never holds a worker
//! thread that answers requests, and a hand-out answers in bounded time whatever the script.
//!
//! The engine's limits (fuel, text, depth: `catalog::limits`) end almost every runaway render
//! within milliseconds, and the render checks the budget at every piece of text it writes. A
//! render that still outlives its budget (one engine operation on a huge value does not stop
//! in the middle) cannot be killed: it is left to finish on its thread, and until it does the
//! same body is not rendered again in this process — a retried `next` or another contact of the
//! same campaign fails at once instead of starting a second runaway thread.

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::catalog::{RenderError, Template};

/// How long one render may take, at hand-out and at save time. An ordinary script renders in
/// well under a millisecond; the engine's fuel stops a runaway loop in tens.
pub const RENDER_BUDGET: Duration = Duration::from_secs(1);

/// Renders script bodies on the blocking pool within a time budget. Cheap to clone.
#[derive(Clone)]
pub struct Renderer {
    budget: Duration,
    /// Bodies (by hash) with renders still running past their budget, and how many.
    overdue: Arc<Mutex<HashMap<u64, usize>>>,
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
            overdue: Arc::default(),
        }
    }

    /// Renders `body` with `vars`, or says why it could not within the limits and the budget.
    #[tracing::instrument(skip_all)]
    pub async fn render(&self, body: String, vars: Value) -> Result<String, RenderError> {
        self.run(body, move |body, out_of_time| {
            Template::render(body, &vars, out_of_time)
        })
        .await
    }

    /// Runs `work` on `body` on a blocking thread and waits for it at most the budget; `work`
    /// gets a check that says when the budget has run out. Everything that compiles a body
    /// goes through here, not only rendering: the engine evaluates constant expressions while
    /// compiling (`{{ -1 in [0] * 2000000000 }}`), with no fuel.
    #[tracing::instrument(skip_all)]
    pub async fn run<T: Send + 'static>(
        &self,
        body: String,
        work: impl FnOnce(&str, &dyn Fn() -> bool) -> Result<T, RenderError> + Send + 'static,
    ) -> Result<T, RenderError> {
        let key = key(&body);
        if self.lock().contains_key(&key) {
            return Err(RenderError::Overdue);
        }
        let budget_ms = self.budget.as_millis() as u64;
        let deadline = Instant::now() + self.budget;
        let run = Arc::new(Run::default());
        let (thread_run, overdue) = (run.clone(), self.overdue.clone());
        let task = tokio::task::spawn_blocking(move || {
            let result = work(&body, &|| Instant::now() >= deadline);
            // Under the lock, so the waiting side either sees the work finished or has counted
            // it overdue by the time this looks.
            let mut overdue = overdue.lock().unwrap_or_else(|e| e.into_inner());
            thread_run.finished.store(true, Ordering::SeqCst);
            if thread_run.overdue.load(Ordering::SeqCst)
                && let Some(count) = overdue.get_mut(&key)
            {
                *count -= 1;
                if *count == 0 {
                    overdue.remove(&key);
                }
            }
            result
        });
        match tokio::time::timeout(self.budget, task).await {
            Ok(Ok(Err(RenderError::TooSlow { .. }))) => Err(RenderError::TooSlow { budget_ms }),
            Ok(Ok(result)) => result,
            Ok(Err(_panicked)) => Err(RenderError::Failed {
                line: None,
                what: "the template engine failed".into(),
            }),
            Err(_elapsed) => {
                let mut overdue = self.lock();
                if !run.finished.load(Ordering::SeqCst) {
                    run.overdue.store(true, Ordering::SeqCst);
                    *overdue.entry(key).or_default() += 1;
                    tracing::warn!(
                        budget_ms,
                        "a script render outlived its time budget; it finishes on its own thread"
                    );
                }
                Err(RenderError::TooSlow { budget_ms })
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, usize>> {
        self.overdue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a body is known by among the overdue renders.
fn key(body: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    body.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn an_ordinary_script_renders() {
        let renderer = Renderer::new(RENDER_BUDGET);
        let text = renderer
            .render("您好{{ name }}".into(), json!({"name": "王芳"}))
            .await;
        assert_eq!(text.as_deref(), Ok("您好王芳"));
    }

    #[tokio::test]
    async fn a_render_that_writes_stops_at_its_budget() {
        let renderer = Renderer::new(Duration::from_millis(1));
        let body = "{% for i in range(100000) %}{{ i }}{% endfor %}".repeat(2);
        let started = Instant::now();
        let err = renderer.render(body, json!({})).await.unwrap_err();
        assert_eq!(err, RenderError::TooSlow { budget_ms: 1 });
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn a_body_still_running_past_its_budget_is_not_rendered_again_until_it_ends() {
        // One engine operation that writes nothing for a while: the budget cannot stop it.
        let body = "{{ -1 in [0] * 3000000 }}".to_owned();
        let renderer = Renderer::new(Duration::from_millis(1));
        let first = renderer.render(body.clone(), json!({})).await;
        assert_eq!(first, Err(RenderError::TooSlow { budget_ms: 1 }));
        let again = renderer.render(body.clone(), json!({})).await;
        assert_eq!(again, Err(RenderError::Overdue));
        let other = Renderer::new(RENDER_BUDGET);
        let fine = other.render("ok".into(), json!({})).await;
        assert_eq!(fine.as_deref(), Ok("ok"));
        let started = Instant::now();
        while renderer.lock().contains_key(&key(&body)) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never finished"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let slow = Renderer::new(RENDER_BUDGET);
        assert_eq!(slow.render(body, json!({})).await.as_deref(), Ok("False"));
    }
}
