//! The scheduler's tick: acts on what has come due — expired leases, retries and callbacks whose
//! time has come, agents whose desks went quiet, wrap-ups whose time has passed, campaigns whose `start_at` or `end_at` has passed, recurrences, and imports
//! left without a worker. Every step is a compare-and-set, so a due time is acted on once
//! however many processes tick.
//!
//! Missed due times: a process that starts after every process was down acts at once on what
//! came due meanwhile: a campaign whose `start_at` passed becomes active (or completed if its
//! `end_at` passed too), and a recurrence whose due times passed fires once (not once per
//! missed time), then waits for its next due time after now.

use crate::{ids::ImportId, time::Instant};

use super::{Result, Service};

/// What one tick did that its caller may act on.
#[derive(Debug, Default)]
pub struct Ticked {
    /// Imports found without a live worker and queued again.
    pub requeued: Vec<ImportId>,
}

impl Service {
    /// One tick. `beat` is called between steps, so a watchdog can tell a slow tick from a
    /// stuck one.
    #[tracing::instrument(skip_all)]
    pub async fn tick(&self, beat: &(dyn Fn() + Sync)) -> Result<Ticked> {
        let now = self.now();
        self.store.reap_expired(now).await?;
        beat();
        self.store.promote_due(now).await?;
        beat();
        self.sign_out_idle_agents().await?;
        beat();
        self.end_wrap_ups().await?;
        beat();
        self.store.compact_counts().await?;
        for (id, status) in self.store.campaigns_apply_schedule(now).await? {
            tracing::info!(campaign = %id, status = %status, "campaign schedule applied");
        }
        for (id, due) in self.store.campaigns_recurrence_due(now).await? {
            beat();
            self.recur(id, due, now).await?;
        }
        let stale = self.config.import_stale.as_millis();
        let (orphaned, abandoned) = self.store.imports_orphaned(now, stale).await?;
        for id in abandoned {
            let reason = Some("the upload did not finish");
            self.store.import_finish(id, reason, now).await?;
        }
        for &id in &orphaned {
            tracing::warn!(import = %id, "import has no live worker; enqueueing it again");
            self.queue.push(id).await?;
        }
        Ok(Ticked { requeued: orphaned })
    }

    /// Claims one due time of a campaign's recurrence and re-opens its finished contacts.
    async fn recur(&self, id: crate::ids::CampaignId, due: Instant, now: Instant) -> Result<()> {
        let campaign = self.store.campaign_get(id).await?;
        let next = campaign
            .recurrence
            .as_ref()
            .and_then(|r| r.next_after(now.max(due).utc(), campaign.tz()))
            .map(Instant::from_utc);
        if let Some(reopened) = self.store.campaign_recur(id, due, next, now).await? {
            tracing::info!(campaign = %id, reopened, "recurrence re-opened finished contacts");
        }
        Ok(())
    }
}
