//! The warnings campaign views carry, from what the store knows now: the active agents'
//! teams, the script's fields against the campaign's first contacts, and the time left. What a
//! script reads is compiled in a render worker once per version (`Renderer::attributes_read`),
//! never on the request's thread.

use std::collections::{BTreeMap, HashMap};

use crate::{
    campaigns::{
        CampaignStatus,
        warnings::{Facts, Starved, Warning, starved, warnings},
    },
    contacts::ContactState,
    dispatch::forecast::{Cohort, exhausted_on},
    ids::CampaignId,
    service::forecast::{ForecastInput, MAX_DAYS},
    store::campaigns::CampaignRow,
    time::DAY_MS,
    time::Instant,
};

use super::{Result, Service};

/// How many of a campaign's contacts the script-field warning looks at (the first imported).
pub const FIELD_SAMPLE: i64 = 1_000;

impl Service {
    /// The warnings of each campaign, in order.
    #[tracing::instrument(skip_all)]
    pub async fn campaign_warnings(&self, rows: &[CampaignRow]) -> Result<Vec<Vec<Warning>>> {
        let active = self.store.agents_active().await?;
        let anyone = !active.is_empty();
        let mut staffed: Vec<String> = active.into_iter().filter_map(|a| a.team).collect();
        staffed.sort();
        staffed.dedup();
        let now = self.now();
        let active = self.store.campaigns_active().await?;
        let ids: Vec<_> = active.iter().map(|c| c.id).collect();
        let last: HashMap<CampaignId, Instant> =
            self.store.last_handouts(&ids).await?.into_iter().collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (lacking, looked_at) = self.lacking_fields(row).await?;
            let round = self.round_ms(row).await?;
            let starved = self.starved(row, &active, &last, now).await?;
            let facts = Facts {
                status: row.status,
                hours: &self.config.calling_hours,
                staffed: &staffed,
                anyone,
                lacking: &lacking,
                looked_at,
                round,
                starved: starved.as_ref(),
                now,
            };
            out.push(warnings(&row.def(), &facts));
        }
        Ok(out)
    }

    /// Whether an active campaign is starved: its ready contacts (kept counts), its last
    /// hand-out (kept with the shares' counts; never handed out, its last change), and the
    /// other active campaigns that share its agents with their last hand-outs.
    async fn starved(
        &self,
        row: &CampaignRow,
        active: &[CampaignRow],
        last: &HashMap<CampaignId, Instant>,
        now: Instant,
    ) -> Result<Option<Starved>> {
        if row.status != CampaignStatus::Active {
            return Ok(None);
        }
        let def = row.def();
        let holders: Vec<(i64, String, Instant)> = active
            .iter()
            .filter(|c| c.id != row.id && c.def().shares_agents_with(&def))
            .filter_map(|c| last.get(&c.id).map(|&at| (c.id.get(), c.name.clone(), at)))
            .collect();
        if holders.is_empty() {
            return Ok(None);
        }
        let since = last.get(&row.id).copied().unwrap_or(row.updated_at);
        let after = self.config.starved_after.as_secs() * 1000;
        let ready = self.store.contact_states(row.id).await?;
        let ready = ready.get(&ContactState::Ready).copied().unwrap_or(0);
        Ok(starved(ready, since, holders, after, now))
    }

    /// For a recurring campaign, how long a round of its unfinished contacts takes from the
    /// recurrence's next firing, by the
    /// forecast with its agents, its handle time and its outcome shares (its own, its offer's or the
    /// defaults) (cheap enough
    /// for a list view: one cohort, the kept counts).
    async fn round_ms(&self, row: &CampaignRow) -> Result<Option<i64>> {
        let def = row.def();
        let Some(recurrence) = &def.recurrence else {
            return Ok(None);
        };
        // A round starts when the recurrence fires next and lasts until the next firing.
        let now = self.now();
        let Some(start) = recurrence.next_after(now.utc(), def.timezone) else {
            return Ok(None);
        };
        let every = recurrence
            .next_after(start, def.timezone)
            .map_or(1, |b| (b - start).num_days() + 1);
        let start = crate::time::Instant::from_utc(start);
        let states = self.store.contact_states(row.id).await?;
        let unfinished: i64 = [
            ContactState::Ready,
            ContactState::Scheduled,
            ContactState::Leased,
        ]
        .iter()
        .filter_map(|s| states.get(s))
        .sum();
        let input = ForecastInput {
            days: Some((every as u32 + 1).min(MAX_DAYS)),
            from: Some(start),
            ..Default::default()
        };
        let queue = vec![Cohort {
            due: start.millis(),
            attempts: 0,
            n: unfinished as f64,
        }];
        let (days, _) = self.simulate_round(row, queue, input).await?;
        Ok(Some(match exhausted_on(&days) {
            Some(d) => (d - days[0].date).num_days() * DAY_MS + DAY_MS,
            None => (days.len() as i64 + 1) * DAY_MS,
        }))
    }

    /// How many of the campaign's first contacts lack (or leave empty) each attribute its
    /// script reads, and how many were looked at.
    async fn lacking_fields(&self, row: &CampaignRow) -> Result<(BTreeMap<String, i64>, i64)> {
        let script = match row.script_version {
            Some(v) => self.store.script_version(row.script_id, v).await?,
            None => self.store.script_get(row.script_id).await?,
        };
        let fields = self.renderer.attributes_read(&script).await;
        if fields.is_empty() {
            return Ok((BTreeMap::new(), 0));
        }
        let sample = self.store.attribute_sample(row.id, FIELD_SAMPLE).await?;
        let lacking = fields
            .iter()
            .map(|f| {
                let n = sample
                    .iter()
                    .filter(|a| a.get(f).is_none_or(|v| v.trim().is_empty()))
                    .count();
                (f.clone(), n as i64)
            })
            .collect();
        Ok((lacking, sample.len() as i64))
    }
}
