//! Why one contact (or a group of contacts alike in every way the rules look at) is not
//! callable in one campaign, and from when it is: the contact's place in the queue, the
//! campaign and its agents, and the rules' own [`judge`]. The per-contact explanation, the
//! campaign's funnel and an agent's outlook all come from [`explain`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::{
    campaigns::{CampaignStatus, Windows},
    contacts::ContactState,
    ids::AgentId,
    time::Instant,
};

use super::{Hold, Pressure, Reason, judge};

/// A contact's place in one campaign, as far as the hand-out's rules look at it.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    pub state: ContactState,
    /// The rule the hand-out moved it aside for (only meaningful while `scheduled`).
    pub held_by: Option<Hold>,
    pub is_callback: bool,
    pub reserved_for: Option<AgentId>,
    pub next_attempt_at: Instant,
    pub release_at: Instant,
    /// The contact's zone, else the campaign's.
    pub zone: Tz,
    /// The phone's attempts within the cap period, newest first (empty for a group: the rule
    /// it was held for stands for them).
    pub recent: &'a [DateTime<Utc>],
    /// When the call the person is on now ends at the latest, if they are on one.
    pub on_call_until: Option<Instant>,
    /// The phone is on the do-not-call list.
    pub listed: bool,
    /// Its list is switched off (a callback is kept all the same).
    pub list_off: bool,
}

/// The campaign, as far as the rules look at it.
#[derive(Debug, Clone)]
pub struct Campaign<'a> {
    pub status: CampaignStatus,
    pub start_at: Option<Instant>,
    pub windows: &'a Windows,
    /// The active agents its teams admit.
    pub agents: &'a [AgentId],
    /// When every one of those agents is on a call or is handed a higher priority's calls
    /// first: the campaigns holding them (names); empty when some agent could take its calls.
    pub busy_elsewhere: &'a [String],
}

/// One reason that applies, and the instant it stops applying when it stops by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub reason: Reason,
    pub until: Option<Instant>,
}

/// Every reason that applies, in the vocabulary's order, and the earliest instant the
/// contact could be handed out (`None`: not by itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub reasons: Vec<Blocked>,
    pub callable_at: Option<Instant>,
    /// With `agents_busy_elsewhere`: the campaigns holding the agents.
    pub held_by: Vec<String>,
}

impl Explanation {
    pub fn callable(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Explains a place at `now`.
pub fn explain(place: &Place, campaign: &Campaign, rules: &Pressure, now: Instant) -> Explanation {
    let mut reasons = Vec::new();
    let mut push = |reason, until: Option<Instant>| reasons.push(Blocked { reason, until });
    // The latest instant a reason that ends by itself ends; `None` once one never does.
    let mut from = Some(now);
    match campaign.status {
        CampaignStatus::Active => {}
        CampaignStatus::Scheduled if campaign.start_at.is_some() => {
            push(Reason::CampaignNotActive, campaign.start_at);
            wait(campaign.start_at, &mut from);
        }
        _ => {
            push(Reason::CampaignNotActive, None);
            wait(None, &mut from);
        }
    }
    if campaign.agents.is_empty() {
        push(Reason::NoAgentForTeam, None);
        wait(None, &mut from);
    }
    let queued = match place.state {
        ContactState::Done => Some(Reason::Done),
        ContactState::Exhausted => Some(Reason::MaxAttempts),
        ContactState::Suppressed => Some(Reason::Dnc),
        ContactState::Leased => {
            push(Reason::Leased, place.on_call_until);
            wait(place.on_call_until, &mut from);
            None
        }
        ContactState::Ready | ContactState::Scheduled => None,
    };
    if let Some(reason) = queued {
        push(reason, None);
        wait(None, &mut from);
    }
    // A contact set aside for its listed phone waits like a queued one: the rules still apply.
    let waiting_kind = matches!(
        place.state,
        ContactState::Ready | ContactState::Scheduled | ContactState::Suppressed
    );
    if waiting_kind {
        if place.listed && place.state != ContactState::Suppressed {
            push(Reason::Dnc, None);
            wait(None, &mut from);
        }
        // A switched-off list holds its contacts until switched on again, which nothing here
        // can tell; a callback promised to a person is kept.
        if place.list_off && !place.is_callback && place.state != ContactState::Suppressed {
            push(Reason::ListInactive, None);
            wait(None, &mut from);
        }
        if let Some(until) = place.on_call_until {
            push(Reason::Leased, Some(until));
            wait(Some(until), &mut from);
        }
        let (waits, available) = waiting(place, campaign.agents, now);
        for (reason, until) in waits {
            push(reason, Some(until));
        }
        wait(Some(available), &mut from);
        let judged = judge(
            campaign.windows,
            place.zone,
            place.is_callback,
            place.recent,
            rules,
            now.utc(),
        );
        for held in &judged.held {
            push(held.hold.reason(), held.until.map(Instant::from_utc));
        }
        // A hold recorded when it was moved aside stands for the history a group does not
        // carry, until its release.
        if let Some(hold) = place
            .held_by
            .filter(|_| place.state == ContactState::Scheduled)
            && place.release_at > now
            && !judged.held.iter().any(|h| h.hold == hold)
        {
            push(hold.reason(), Some(place.release_at));
        }
        // From the instant every wait is over, the rules decide.
        if let Some(f) = from {
            let later = judge(
                campaign.windows,
                place.zone,
                place.is_callback,
                place.recent,
                rules,
                f.utc(),
            );
            from = later.callable_at.map(Instant::from_utc);
        }
    }
    // Callable by every rule, but nobody is free for it: it could be handed out the moment an
    // agent is, which nothing here can tell.
    let mut held_by = Vec::new();
    if reasons.is_empty() && !campaign.busy_elsewhere.is_empty() {
        reasons.push(Blocked {
            reason: Reason::AgentsBusyElsewhere,
            until: None,
        });
        held_by = campaign.busy_elsewhere.to_vec();
    }
    reasons.sort_by_key(|b| b.reason);
    reasons.dedup_by_key(|b| b.reason);
    Explanation {
        callable_at: if reasons.is_empty() { Some(now) } else { from },
        reasons,
        held_by,
    }
}

/// What a queued contact waits for besides the rules (a retry delay, a callback not yet due,
/// a callback kept for an agent who may not take it), and when it is back in the queue for
/// some agent the campaign admits.
fn waiting(place: &Place, agents: &[AgentId], now: Instant) -> (Vec<(Reason, Instant)>, Instant) {
    let mut waits = Vec::new();
    if place.state != ContactState::Scheduled {
        return (waits, now);
    }
    // A callback kept for an agent the campaign admits is theirs at its time; anything else
    // joins the queue at its release.
    let theirs = place.reserved_for.is_some_and(|a| agents.contains(&a));
    let available = if theirs {
        place.next_attempt_at
    } else {
        place.release_at
    };
    if place.held_by.is_none() {
        if !place.is_callback && available > now {
            waits.push((Reason::RetryWait, available));
        }
        if place.is_callback && place.next_attempt_at > now {
            waits.push((Reason::CallbackPending, place.next_attempt_at));
        }
    }
    if place.reserved_for.is_some() && !theirs && place.release_at > now {
        waits.push((Reason::ReservedForAgent, place.release_at));
    }
    (waits, available.max(now))
}

/// Waits until `until` too: the later of the two, `None` (never) when either is.
fn wait(until: Option<Instant>, from: &mut Option<Instant>) {
    *from = match (*from, until) {
        (Some(f), Some(u)) => Some(f.max(u)),
        _ => None,
    };
}
