//! "Why isn't it dialing?": why a contact is not being called in each of its campaigns, a
//! campaign's funnel (every contact counted once, as callable now or under its first blocking
//! reason) and an agent's outlook (when the next call is expected and why not sooner). All of
//! them are [`explain`], the rules the hand-out uses, applied to what the store reads.

use std::collections::{BTreeMap, HashMap};

use crate::{
    campaigns::{CampaignDef, CampaignStatus},
    contacts::ContactState,
    dispatch::{
        Hold, Reason,
        eligibility::standing_attempts,
        explain::{Campaign, Explanation, Place, explain},
    },
    ids::{AgentId, CampaignId, ContactId},
    store::{agents::Agent, campaigns::CampaignRow, funnel::GroupRow},
    time::Instant,
};

use super::{Result, Service};

/// A contact's explanation in each of its campaigns, at `at`.
pub struct ContactEligibility {
    pub contact: ContactId,
    pub at: Instant,
    pub campaigns: Vec<(CampaignRow, Explanation)>,
}

/// A campaign's funnel at `at`.
pub struct Funnel {
    pub at: Instant,
    pub callable_now: i64,
    /// Every reason of the vocabulary, with how many contacts it is the first for.
    pub blocked: BTreeMap<Reason, i64>,
    /// The next instant a contact not callable now becomes callable, and its first reason now.
    pub next: Option<(Instant, Reason)>,
}

/// When an agent's next call is expected and, when not now, the reason that holds it.
pub struct Outlook {
    pub expected_at: Option<Instant>,
    pub reason: Option<Reason>,
}

/// What a group of alike contacts is keyed by.
type Key = (
    ContactState,
    Option<Hold>,
    bool,
    Option<AgentId>,
    Option<bool>,
    Option<bool>,
);

fn key(g: &GroupRow) -> Key {
    (
        g.state,
        g.held_by,
        g.is_callback,
        g.reserved_for,
        g.due,
        g.released,
    )
}

/// The agents among `active` that a campaign admits.
pub(super) fn admitted(def: &CampaignDef, active: &[Agent]) -> Vec<AgentId> {
    active
        .iter()
        .filter(|a| def.admits(a.team.as_deref()))
        .map(|a| a.id)
        .collect()
}

impl Service {
    /// Why a contact is or is not callable in each of its campaigns, now.
    #[tracing::instrument(skip_all)]
    pub async fn contact_eligibility(&self, contact: ContactId) -> Result<ContactEligibility> {
        let now = self.now();
        let rules = self.handout.rules();
        let (person, places) = self.store.contact_places(contact).await?;
        let since = now - rules.cap.period;
        let recent: Vec<_> = self
            .store
            .recent_attempts(contact, since, rules.cap.max as i64)
            .await?
            .into_iter()
            .map(Instant::utc)
            .collect();
        let active = self.store.agents_active().await?;
        let mut campaigns = Vec::new();
        for row in places {
            let campaign = self.store.campaign_get(row.campaign_id).await?;
            let agents = admitted(&campaign.def(), &active);
            let elsewhere = self.busy_elsewhere(&campaign, &active, now).await?;
            let place = Place {
                state: row.state,
                held_by: row.held_by,
                is_callback: row.is_callback,
                reserved_for: row.reserved_for,
                next_attempt_at: row.next_attempt_at,
                release_at: row.release_at,
                zone: person.timezone.map_or(campaign.tz(), |z| z.0),
                recent: &recent,
                on_call_until: person.on_call_until,
                listed: person.listed,
                list_off: row.list_off,
            };
            let facts = Campaign {
                status: campaign.status,
                start_at: campaign.start_at,
                windows: &campaign.calling_windows,
                agents: &agents,
                busy_elsewhere: &elsewhere,
            };
            let explanation = explain(&place, &facts, &rules, now);
            campaigns.push((campaign, explanation));
        }
        Ok(ContactEligibility {
            contact,
            at: now,
            campaigns,
        })
    }

    /// A campaign's funnel now: exact, from indexed counts and groups, never a walk of its
    /// contacts.
    #[tracing::instrument(skip_all)]
    pub async fn campaign_funnel(&self, id: CampaignId) -> Result<Funnel> {
        let campaign = self.store.campaign_get(id).await?;
        let active = self.store.agents_active().await?;
        self.funnel_of(&campaign, &active, true).await
    }

    /// The funnel of one campaign, with the active agents read once by the caller;
    /// `elsewhere` also judges `agents_busy_elsewhere` (the agent outlook does not: its agent
    /// is free, and a 204 of the hand-out would pay for it in every campaign).
    async fn funnel_of(
        &self,
        campaign: &CampaignRow,
        active: &[Agent],
        elsewhere: bool,
    ) -> Result<Funnel> {
        let now = self.now();
        let rules = self.handout.rules();
        let agents = admitted(&campaign.def(), active);
        let states = self.store.contact_states(campaign.id).await?;
        let (rows, parts) = self.store.campaign_groups(campaign.id, now).await?;
        let elsewhere = match elsewhere {
            true => self.busy_elsewhere(campaign, active, now).await?,
            false => vec![],
        };
        let facts = Campaign {
            status: campaign.status,
            start_at: campaign.start_at,
            windows: &campaign.calling_windows,
            agents: &agents,
            busy_elsewhere: &elsewhere,
        };
        let mut funnel = Funnel {
            at: now,
            callable_now: 0,
            blocked: Reason::ALL.iter().map(|r| (*r, 0)).collect(),
            next: None,
        };
        for g in groups(&states, rows, parts) {
            let recent = standing_attempts(
                g.gap_until.map(Instant::utc),
                g.cap_until.map(Instant::utc),
                &rules,
            );
            let place = Place {
                state: g.state,
                held_by: g.held_by,
                is_callback: g.is_callback,
                reserved_for: g.reserved_for,
                next_attempt_at: g.first_due.unwrap_or(now),
                release_at: g.first_release.unwrap_or(now),
                zone: g.zone.map_or(campaign.tz(), |z| z.0),
                recent: &recent,
                on_call_until: g.on_call_until,
                listed: false,
                list_off: g.list_off,
            };
            let e = explain(&place, &facts, &rules, now);
            match e.reasons.first() {
                None => funnel.callable_now += g.n,
                Some(first) => {
                    *funnel.blocked.entry(first.reason).or_default() += g.n;
                    if let Some(at) = e.callable_at
                        && funnel.next.is_none_or(|(t, _)| at < t)
                    {
                        funnel.next = Some((at, first.reason));
                    }
                }
            }
        }
        Ok(funnel)
    }

    /// The campaigns holding an active campaign's agents when every active agent it admits is
    /// on a call (of another campaign) or may work an active campaign of a higher priority
    /// that has ready contacts (the hand-out gives that one's first); empty when some agent it
    /// admits could take its calls, when it admits none (`no_agent_for_team` says so), or when
    /// its own calls keep them busy.
    async fn busy_elsewhere(
        &self,
        campaign: &CampaignRow,
        active: &[Agent],
        now: Instant,
    ) -> Result<Vec<String>> {
        let def = campaign.def();
        let mine: Vec<&Agent> = active
            .iter()
            .filter(|a| def.admits(a.team.as_deref()))
            .collect();
        if mine.is_empty() || campaign.status != CampaignStatus::Active {
            return Ok(vec![]);
        }
        let calls: HashMap<AgentId, CampaignId> =
            self.store.live_calls(now).await?.into_iter().collect();
        let mut higher = Vec::new();
        for c in self.store.campaigns_active().await? {
            if c.priority > campaign.priority {
                let states = self.store.contact_states(c.id).await?;
                if states.get(&ContactState::Ready).copied().unwrap_or(0) > 0 {
                    higher.push(c);
                }
            }
        }
        let mut names: Vec<String> = Vec::new();
        let mut seen: Vec<CampaignId> = Vec::new();
        for agent in mine {
            let holder = match calls.get(&agent.id) {
                Some(&c) => Some(c),
                None => higher
                    .iter()
                    .find(|h| h.def().admits(agent.team.as_deref()))
                    .map(|h| h.id),
            };
            let Some(holder) = holder else {
                return Ok(vec![]);
            };
            if holder == campaign.id {
                continue;
            }
            if seen.contains(&holder) {
                continue;
            }
            seen.push(holder);
            names.push(match higher.iter().find(|h| h.id == holder) {
                Some(h) => h.name.clone(),
                None => self.store.campaign_get(holder).await?.name,
            });
        }
        Ok(names)
    }

    /// When the agent's next call is expected: now when a campaign they may work has a
    /// callable contact, else the earliest instant one becomes callable, with its reason.
    #[tracing::instrument(skip_all)]
    pub async fn agent_outlook(&self, agent: AgentId) -> Result<Outlook> {
        let me = self.store.agent_get(agent).await?;
        let active = self.store.agents_active().await?;
        let mut soonest: Option<(Instant, Reason)> = None;
        // Why nothing comes at all, when nothing ever does: no campaign, or the first reason.
        let mut never = Some(Reason::CampaignNotActive);
        for campaign in self.store.campaigns_active().await? {
            if !campaign.def().admits(me.team.as_deref()) {
                continue;
            }
            let funnel = self.funnel_of(&campaign, &active, false).await?;
            if funnel.callable_now > 0 {
                return Ok(Outlook {
                    expected_at: Some(funnel.at),
                    reason: None,
                });
            }
            if let Some((at, reason)) = funnel.next
                && soonest.is_none_or(|(t, _)| at < t)
            {
                soonest = Some((at, reason));
            }
            let first = funnel.blocked.iter().find(|(_, n)| **n > 0);
            never = first
                .map(|(r, _)| *r)
                .or(never.filter(|r| *r != Reason::CampaignNotActive));
        }
        Ok(match soonest {
            Some((at, reason)) => Outlook {
                expected_at: Some(at),
                reason: Some(reason),
            },
            None => Outlook {
                expected_at: None,
                reason: never,
            },
        })
    }
}

/// The campaign's contacts as groups alike in everything the rules look at, each counted
/// once: the groups as read less their parts (contacts whose phone rules bind, contacts on a
/// call), those parts, and in each state the rest (its kept count less the groups read): the
/// contacts the campaign's zone and rules judge alike.
fn groups(
    states: &BTreeMap<ContactState, i64>,
    mut out: Vec<GroupRow>,
    parts: Vec<GroupRow>,
) -> Vec<GroupRow> {
    let count = |s| states.get(&s).copied().unwrap_or(0);
    let read =
        |out: &[GroupRow], s| -> i64 { out.iter().filter(|g| g.state == s).map(|g| g.n).sum() };
    for state in [
        ContactState::Ready,
        ContactState::Leased,
        ContactState::Done,
        ContactState::Exhausted,
        ContactState::Suppressed,
    ] {
        out.push(GroupRow {
            n: count(state) - read(&out, state),
            ..GroupRow::alike(None, state)
        });
    }
    for part in &parts {
        if let Some(from) = out
            .iter_mut()
            .find(|g| g.zone == part.zone && key(g) == key(part))
        {
            from.n -= part.n;
        }
    }
    out.extend(parts);
    out.retain(|g| g.n > 0);
    out
}
