//! The hand-out: gives an agent their next call, in the contract's order, applying every
//! eligibility rule. Candidates come from indexed queries in small batches; one that fails a
//! rule is moved out of the ready queue until the rule would allow it, so no contact is judged
//! twice before its time and the cost of a hand-out does not grow with the queue.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicI64, Ordering},
};

use crate::{
    clock::SharedClock,
    config::Config,
    dispatch::{
        self, Hold, Pressure, Verdict,
        shares::{self, Slice},
    },
    floor::{self, Standing},
    ids::{AgentId, CampaignId},
    store::{
        Store, StoreError, Tx,
        agent_states::StateRow,
        agents::Agent,
        calls::CallRow,
        campaigns::CampaignRow,
        floor::CallEvent,
        queue::{Outlook, Search, Step},
    },
    time::{DAY_MS, Instant},
};

use super::Result;

/// A call handed out, with the agent and campaign rows it was chosen with.
pub struct Handout {
    pub call: CallRow,
    pub agent: Agent,
    pub campaign: CampaignRow,
    /// Claimed by this hand-out (not a held call handed back to a retried `next`).
    pub fresh: bool,
}

/// How often a hand-out also sweeps expired leases and due retries, in milliseconds.
const SWEEP_EVERY_MS: i64 = 250;

/// Batches searched per step before moving on.
const ROUNDS: usize = 8;

/// The first batch of a step: one row, since it is usually the call. A larger batch costs
/// for every row: its person's recent attempts are read with it, SQLite's driver hands each row
/// over between threads, and on PostgreSQL each stays locked until the hand-out commits.
const FIRST_BATCH: i64 = 1;

/// Later batches of a step, once candidates have been found ineligible and moved aside.
const BATCH: i64 = 16;

/// The hand-out, with its clock, the global pressure rules and its sweep throttle.
pub struct HandOut {
    store: Store,
    clock: SharedClock,
    rules: Pressure,
    /// The service's zone: "today" for the shares' counts is its local day, as for the stats.
    tz: chrono_tz::Tz,
    /// When a hand-out last swept expired leases and due retries (clock milliseconds).
    swept_at: AtomicI64,
}

impl HandOut {
    pub fn new(store: Store, clock: SharedClock, config: &Config) -> Self {
        Self {
            store,
            clock,
            rules: Pressure {
                hours: config.calling_hours,
                cap: config.phone_cap,
                min_gap: config.phone_min_gap,
            },
            tz: config.timezone,
            swept_at: AtomicI64::new(0),
        }
    }

    /// The global contact-pressure rules it applies.
    pub fn rules(&self) -> Pressure {
        self.rules
    }

    /// Whether this hand-out should also sweep: expired leases and due retries are swept every
    /// second in the background, and at hand-out at most every quarter second, so a busy queue
    /// pays for it rarely.
    fn sweep_due(&self, now: Instant) -> bool {
        let now = now.millis();
        let last = self.swept_at.load(Ordering::SeqCst);
        (now < last || last + SWEEP_EVERY_MS <= now)
            && self
                .swept_at
                .compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// Finds and leases the agent's next call, or `None` when nothing is due for them. A call
    /// the agent already holds is returned as it is.
    #[tracing::instrument(skip_all)]
    pub async fn next(&self, agent_id: AgentId) -> Result<Option<Handout>, StoreError> {
        let store = &self.store;
        let now = self.clock.now();
        let sweep = self.sweep_due(now);
        if sweep {
            store.reap_expired(now).await?;
        }
        let agent = store.agent_get(agent_id).await?;
        if sweep {
            store.promote_due(now).await?;
        }
        let campaigns: Vec<CampaignRow> = store
            .campaigns_active()
            .await?
            .into_iter()
            .filter(|c| c.def().admits(agent.team.as_deref()))
            .collect();
        let all: Vec<CampaignId> = campaigns.iter().map(|c| c.id).collect();
        let owner_first: Vec<CampaignId> = campaigns
            .iter()
            .filter(|c| c.owner_first)
            .map(|c| c.id)
            .collect();
        let (mut tx, mut outlook, mut state) =
            begin(store, agent_id, &all, &owner_first, now).await?;
        if outlook.lapsed {
            // The agent's last lease ran out and has not been reaped yet: the one-lease-per-agent
            // index would refuse every claim. Reap it (its own transaction: on SQLite the writer
            // is this one), then look again.
            tx.commit().await?;
            store.reap_expired(now).await?;
            (tx, outlook, state) = begin(store, agent_id, &all, &owner_first, now).await?;
        }
        let standing = state.standing();
        if let Some(why) = floor::no_calls_because(&standing.at(now)) {
            tx.commit().await?;
            return Err(StoreError::Conflict(why));
        }
        if outlook.held.is_some()
            && let Some(call) = Store::call_held_in(&mut tx, agent_id, now).await?
        {
            tx.commit().await?;
            let campaign = store.campaign_get(call.campaign_id).await?;
            return Ok(Some(Handout {
                call,
                agent,
                campaign,
                fresh: false,
            }));
        }
        let day = floor::day_start(floor::day_of(now, self.tz), self.tz);
        let ordered = by_share(&mut tx, &campaigns, day).await?;
        let steps = steps(&outlook, &ordered, all, owner_first);
        let by_id: HashMap<CampaignId, &CampaignRow> =
            campaigns.iter().map(|c| (c.id, c)).collect();
        for (step, within) in steps {
            for round in 0..ROUNDS {
                let search = Search {
                    step,
                    agent: agent_id,
                    within: &within,
                    now,
                    since: now - self.rules.cap.period,
                    cap: self.rules.cap.max as i64,
                    batch: if round == 0 { FIRST_BATCH } else { BATCH },
                };
                let (found, exhausted) = self.try_batch(&mut tx, &search, &by_id).await?;
                if let Some(call) = found {
                    self.on_call(&mut tx, &call, &standing, now).await?;
                    // Last before the commit: on PostgreSQL the count's row stays locked until
                    // then, and concurrent claims of the campaign on the same slot wait for it.
                    let (campaign, slot) = (call.campaign_id, agent_id.get());
                    Store::handout_counted(&mut tx, campaign, slot, day, now).await?;
                    tx.commit().await?;
                    metrics::counter!("outcall_calls_handed_out_total").increment(1);
                    let campaign = by_id[&call.campaign_id].clone();
                    return Ok(Some(Handout {
                        call,
                        agent,
                        campaign,
                        fresh: true,
                    }));
                }
                if exhausted {
                    break;
                }
            }
        }
        tx.commit().await?;
        Ok(None)
    }

    /// The agent is on the call just claimed, and the live stream says so, in the hand-out's
    /// transaction.
    async fn on_call(
        &self,
        tx: &mut Tx,
        call: &CallRow,
        standing: &Standing,
        now: Instant,
    ) -> Result<(), StoreError> {
        let (store, agent) = (&self.store, call.agent_id);
        store
            .agent_move_in(tx, agent, standing, &Standing::on_call(now))
            .await?;
        let (campaign, contact) = (call.campaign_id, call.contact_id);
        let until = Some(call.lease_expires_at);
        let what = CallEvent::HandedOut;
        store
            .call_event_in(tx, what, call.id, campaign, contact, agent, until, now)
            .await
    }

    /// One batch of one step: judges each candidate, leases the first that may be called, and
    /// reschedules those that may not. Returns the call, and whether the step has no more rows.
    async fn try_batch(
        &self,
        tx: &mut Tx,
        search: &Search<'_>,
        campaigns: &HashMap<CampaignId, &CampaignRow>,
    ) -> Result<(Option<CallRow>, bool), StoreError> {
        let now = search.now;
        let candidates = self.store.candidates(tx, search).await?;
        let exhausted = (candidates.len() as i64) < search.batch;
        for candidate in &candidates {
            let Some(campaign) = campaigns.get(&candidate.campaign_id) else {
                continue;
            };
            let tz = candidate.contact_tz.map_or(campaign.tz(), |z| z.0);
            let recent: Vec<_> = candidate
                .recent_attempts()
                .into_iter()
                .map(Instant::utc)
                .collect();
            let windows = &campaign.calling_windows;
            let verdict = dispatch::verdict(
                windows,
                tz,
                candidate.is_callback,
                &recent,
                &self.rules,
                now.utc(),
            );
            let (later, hold) = match verdict {
                Verdict::Now => {
                    let version = campaign.script_version.unwrap_or(1);
                    let until = now + campaign.lease_seconds;
                    let claimed =
                        Store::claim(tx, candidate, search.agent, version, until, now).await?;
                    if let Some(call) = claimed {
                        return Ok((Some(call), false));
                    }
                    continue;
                }
                Verdict::NotBefore(at, hold) => (Instant::from_utc(at), hold),
                Verdict::Never => (now.plus_millis(DAY_MS), Hold::OutsideCampaignWindow),
            };
            Store::reschedule(tx, candidate.id, later, hold, now).await?;
        }
        Ok((None, exhausted))
    }
}

/// The campaigns in the order their own steps are searched: by priority, and within a priority
/// by share against today's kept counts (`dispatch::shares`), read in the hand-out's
/// transaction. Only a tier of several campaigns needs the counts.
async fn by_share(
    tx: &mut Tx,
    campaigns: &[CampaignRow],
    day: Instant,
) -> Result<Vec<CampaignId>, StoreError> {
    let ids = campaigns.iter().map(|c| c.id);
    if !shares::any_shared_tier(campaigns.iter().map(|c| c.priority)) {
        return Ok(ids.collect());
    }
    let today: HashMap<CampaignId, i64> =
        Store::handouts_today_in(tx, &ids.collect::<Vec<_>>(), day)
            .await?
            .into_iter()
            .collect();
    let mut slices: Vec<Slice> = campaigns
        .iter()
        .map(|c| Slice {
            id: c.id,
            priority: c.priority,
            share: c.share,
            today: today.get(&c.id).copied().unwrap_or(0),
        })
        .collect();
    shares::order(&mut slices);
    Ok(slices.into_iter().map(|s| s.id).collect())
}

/// The steps to search, in hand-out order, each with the campaigns it looks in: the
/// cross-campaign steps the outlook saw anything due in, then each campaign in `ordered`
/// (by priority, then share).
fn steps(
    outlook: &Outlook,
    ordered: &[CampaignId],
    all: Vec<CampaignId>,
    owner_first: Vec<CampaignId>,
) -> Vec<(Step, Vec<CampaignId>)> {
    let mut steps = Vec::new();
    if ordered.is_empty() {
        return steps;
    }
    if outlook.reserved {
        steps.push((Step::Reserved, all.clone()));
    }
    if outlook.owned {
        steps.push((Step::Owned, owner_first));
    }
    if outlook.callbacks {
        steps.push((Step::Callbacks, all));
    }
    steps.extend(ordered.iter().map(|&c| (Step::Campaign(c), vec![c])));
    steps
}

/// Opens the search's transaction and takes its first look. One transaction for the whole
/// search: on SQLite one write lock and on PostgreSQL one round of BEGIN/COMMIT, however many
/// steps come up empty before the call is found. It begins with the agent's own hand-outs in
/// turn (a retry sent while the first request is still choosing waits for it), so a call the
/// agent holds is seen and handed back as it is.
///
/// It also reads the agent's state (a hand-out is the desk's sign of life, and the row stays
/// locked until the hand-out ends, so a state change waits for it or the other way round).
async fn begin(
    store: &Store,
    agent: AgentId,
    all: &[CampaignId],
    owner_first: &[CampaignId],
    now: Instant,
) -> Result<(Tx, Outlook, StateRow), StoreError> {
    let mut tx = store.begin().await?;
    Store::one_hand_out_per_agent(&mut tx, agent).await?;
    let state = Store::agent_seen_in(&mut tx, agent, now).await?;
    let outlook = Store::outlook(&mut tx, agent, all, owner_first, now).await?;
    Ok((tx, outlook, state))
}
