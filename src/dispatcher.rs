//! The dispatcher: hands an agent their next call, in the contract's order, applying every
//! eligibility rule. Candidates come from indexed queries in small batches; one that fails a
//! rule is moved out of the ready queue until the rule would allow it, so no contact is judged
//! twice before its time and the cost of a hand-out does not grow with the queue.

use std::collections::HashMap;

use chrono::Duration;

use crate::{
    clock::from_ms,
    dispatch::{self, Pressure, Verdict},
    http::AppState,
    store::{
        Store, StoreError, Tx,
        agents::Agent,
        campaigns::CampaignRow,
        dispatch::{CallRow, Outlook, Search, Step},
    },
};

/// A call handed out, with the agent and campaign rows the response is built from (already
/// read to choose the call, so not read again).
pub struct Handout {
    pub call: CallRow,
    pub agent: Agent,
    pub campaign: CampaignRow,
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

/// The pressure rules from the configuration.
pub fn pressure(state: &AppState) -> Pressure {
    Pressure {
        hours: state.config.calling_hours,
        cap: state.config.phone_cap,
        min_gap: state.config.phone_min_gap,
    }
}

/// Finds and leases the agent's next call, or `None` when nothing is due for them. A call the
/// agent already holds is returned as it is.
pub async fn next_call(state: &AppState, agent_id: i64) -> Result<Option<Handout>, StoreError> {
    let store = &state.store;
    let now = state.clock.now_ms();
    // Expired leases and due retries are swept every second in the background; at hand-out
    // they are swept too, at most every quarter second, so a busy queue pays for it rarely.
    let last = state.swept_at.load(std::sync::atomic::Ordering::SeqCst);
    let due = (now < last || last + SWEEP_EVERY_MS <= now)
        && state
            .swept_at
            .compare_exchange(
                last,
                now,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
            )
            .is_ok();
    if due {
        store.reap_expired(now).await?;
    }
    let agent = store.agent_get(agent_id).await?;
    if due {
        store.promote_due(now).await?;
    }
    let campaigns: Vec<CampaignRow> = store
        .campaigns_active()
        .await?
        .into_iter()
        .filter(|c| c.def().admits(agent.team.as_deref()))
        .collect();
    let all: Vec<i64> = campaigns.iter().map(|c| c.id).collect();
    let owner_first: Vec<i64> = campaigns
        .iter()
        .filter(|c| c.owner_first)
        .map(|c| c.id)
        .collect();
    let (mut tx, mut outlook) = begin_search(store, agent_id, &all, &owner_first, now).await?;
    if outlook.lapsed {
        // The agent's last lease ran out and has not been reaped yet: the one-lease-per-agent
        // index would refuse every claim. Reap it (its own transaction: on SQLite the writer is
        // this one), then look again.
        tx.commit().await?;
        store.reap_expired(now).await?;
        (tx, outlook) = begin_search(store, agent_id, &all, &owner_first, now).await?;
    }
    if outlook.held.is_some() {
        if let Some(call) = Store::call_held_in(&mut tx, agent_id, now).await? {
            tx.commit().await?;
            return held(store, call, agent).await.map(Some);
        }
    }
    if campaigns.is_empty() {
        tx.commit().await?;
        return Ok(None);
    }
    let by_id: HashMap<i64, &CampaignRow> = campaigns.iter().map(|c| (c.id, c)).collect();
    let mut steps = Vec::new();
    if outlook.reserved {
        steps.push((Step::Reserved, all.clone()));
    }
    if outlook.owned {
        steps.push((Step::Owned, owner_first));
    }
    if outlook.callbacks {
        steps.push((Step::Callbacks, all.clone()));
    }
    steps.extend(campaigns.iter().map(|c| (Step::Campaign(c.id), vec![c.id])));

    let rules = pressure(state);
    for (step, within) in steps {
        for round in 0..ROUNDS {
            let search = Search {
                step,
                agent: agent_id,
                within: &within,
                now,
                since: now - rules.cap.period.as_millis(),
                cap: rules.cap.max as i64,
                batch: if round == 0 { FIRST_BATCH } else { BATCH },
            };
            let (found, exhausted) = try_batch(store, &mut tx, &search, &by_id, &rules).await?;
            if let Some(call) = found {
                tx.commit().await?;
                metrics::counter!("outcall_calls_handed_out_total").increment(1);
                let campaign = by_id[&call.campaign_id].clone();
                return Ok(Some(Handout {
                    call,
                    agent,
                    campaign,
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

/// Opens the search's transaction and takes its first look. One transaction for the whole
/// search: on SQLite one write lock and on PostgreSQL one round of BEGIN/COMMIT, however many
/// steps come up empty before the call is found. It begins with the agent's own hand-outs in
/// turn (a retry sent while the first request is still choosing waits for it), so a call the
/// agent holds is seen and handed back as it is.
async fn begin_search(
    store: &Store,
    agent: i64,
    all: &[i64],
    owner_first: &[i64],
    now: i64,
) -> Result<(Tx, Outlook), StoreError> {
    let mut tx = store.begin().await?;
    Store::one_hand_out_per_agent(&mut tx, agent).await?;
    let outlook = Store::outlook(&mut tx, agent, all, owner_first, now).await?;
    Ok((tx, outlook))
}

/// The call an agent already holds, as a hand-out.
async fn held(store: &Store, call: CallRow, agent: Agent) -> Result<Handout, StoreError> {
    let campaign = store.campaign_get(call.campaign_id).await?;
    Ok(Handout {
        call,
        agent,
        campaign,
    })
}

/// One batch of one step: judges each candidate, leases the first that may be called, and
/// reschedules those that may not. Returns the call, and whether the step has no more rows.
async fn try_batch(
    store: &Store,
    tx: &mut Tx,
    search: &Search<'_>,
    campaigns: &HashMap<i64, &CampaignRow>,
    rules: &Pressure,
) -> Result<(Option<CallRow>, bool), StoreError> {
    let now = search.now;
    let candidates = store.candidates(tx, search).await?;
    let exhausted = (candidates.len() as i64) < search.batch;
    for candidate in &candidates {
        let Some(campaign) = campaigns.get(&candidate.campaign_id) else {
            continue;
        };
        let def = campaign.def();
        let tz = candidate
            .contact_tz
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(def.timezone);
        let recent: Vec<_> = candidate
            .recent_attempts()
            .into_iter()
            .map(from_ms)
            .collect();
        match dispatch::verdict(
            &def.windows,
            tz,
            candidate.is_callback,
            &recent,
            rules,
            from_ms(now),
        ) {
            Verdict::Now => {
                let version = campaign.script_version.unwrap_or(1);
                if let Some(call) = Store::claim(
                    tx,
                    candidate,
                    search.agent,
                    version,
                    def.lease.as_millis(),
                    now,
                )
                .await?
                {
                    return Ok((Some(call), false));
                }
            }
            Verdict::NotBefore(at) => {
                Store::reschedule(tx, candidate.id, at.timestamp_millis(), now).await?
            }
            Verdict::Never => {
                let later = from_ms(now) + Duration::days(1);
                Store::reschedule(tx, candidate.id, later.timestamp_millis(), now).await?
            }
        }
    }
    Ok((None, exhausted))
}
