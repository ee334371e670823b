//! Why a contact may not be called now and until when: the contract's fixed vocabulary of
//! reasons, and the rules' part of them (windows, calling hours, the phone's cap and gap),
//! judged by [`judge`], the one function both the hand-out and the explanations use.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::{campaigns::Windows, rules::CallingHours};

use super::Pressure;

crate::text_enum! {
    /// Why a contact is not being called. Declared in the contract's order: a campaign's funnel
    /// counts each contact under the first that applies.
    pub enum Reason {
        /// The campaign is a draft, scheduled, paused or completed.
        CampaignNotActive = "campaign_not_active",
        /// Outside the campaign's calling windows in the contact's zone.
        OutsideCampaignWindow = "outside_campaign_window",
        /// Outside the service's global calling hours in the contact's zone.
        OutsideCallingHours = "outside_calling_hours",
        /// A day the campaign does not call (reserved: outcall has no blackout dates yet).
        BlackoutDate = "blackout_date",
        /// The phone is on the do-not-call list.
        Dnc = "dnc",
        /// The contact refused consent (reserved: consent is later work).
        ConsentRefused = "consent_refused",
        /// A cooling-off period (reserved).
        CoolOff = "cool_off",
        /// The phone was called as often as the cap allows within its period.
        PhoneCap = "phone_cap",
        /// The phone was called less than the minimum gap ago.
        PhoneMinGap = "phone_min_gap",
        /// Waiting for the campaign's retry delay after an unanswered attempt.
        RetryWait = "retry_wait",
        /// Tried as often as the campaign allows without a final outcome.
        MaxAttempts = "max_attempts",
        /// The person is on a call now (in this or another campaign).
        Leased = "leased",
        /// A callback kept for one agent who cannot take it now.
        ReservedForAgent = "reserved_for_agent",
        /// A callback not yet due.
        CallbackPending = "callback_pending",
        /// The contact's list is not active (reserved: lists are later work).
        ListInactive = "list_inactive",
        /// No active agent may work the campaign (its teams have nobody).
        NoAgentForTeam = "no_agent_for_team",
        /// Otherwise callable, but every active agent the campaign admits is on a call or is
        /// handed a higher priority's calls first (issue 27); the explanation names the
        /// campaigns holding them.
        AgentsBusyElsewhere = "agents_busy_elsewhere",
        /// Finished with a final outcome.
        Done = "done",
    }
}

crate::text_enum! {
    /// The rules the hand-out holds a contact back for, as a contact moved aside records them:
    /// the subset of [`Reason`] that [`judge`] decides.
    pub enum Hold {
        OutsideCampaignWindow = "outside_campaign_window",
        OutsideCallingHours = "outside_calling_hours",
        PhoneCap = "phone_cap",
        PhoneMinGap = "phone_min_gap",
    }
}

impl Hold {
    pub fn reason(self) -> Reason {
        match self {
            Hold::OutsideCampaignWindow => Reason::OutsideCampaignWindow,
            Hold::OutsideCallingHours => Reason::OutsideCallingHours,
            Hold::PhoneCap => Reason::PhoneCap,
            Hold::PhoneMinGap => Reason::PhoneMinGap,
        }
    }
}

/// One rule that holds a contact back now, and the instant it stops (`None`: never by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub hold: Hold,
    pub until: Option<DateTime<Utc>>,
}

/// What the rules say about a contact at an instant: every rule that holds it back, in the
/// vocabulary's order, and the first instant none does (`None`: the windows never open).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub held: Vec<Held>,
    pub callable_at: Option<DateTime<Utc>>,
}

impl Judgement {
    /// The reason a contact moved aside records: the first that holds it.
    pub fn first(&self) -> Option<Hold> {
        self.held.first().map(|h| h.hold)
    }
}

/// The whole day: the campaign's windows alone, without the global hours.
fn all_day() -> CallingHours {
    "00:00-24:00".parse().expect("a valid range")
}

/// Judges a contact at `now` (or, with `from` later than `now`, from that instant on: a
/// contact waiting for a retry). `recent` are the instants of the phone's attempts within the
/// cap period, newest first. A callback is exempt from the cap, the gap and the campaign's
/// windows, never from the global hours.
pub fn judge(
    windows: &Windows,
    tz: Tz,
    is_callback: bool,
    recent: &[DateTime<Utc>],
    rules: &Pressure,
    now: DateTime<Utc>,
) -> Judgement {
    let mut held = Vec::new();
    let mut earliest = now;
    let always = Windows::always();
    let windows = if is_callback { &always } else { windows };
    if !windows.is_open(now, tz, &all_day()) {
        let until = windows.next_open(now, tz, &all_day());
        held.push(Held {
            hold: Hold::OutsideCampaignWindow,
            until,
        });
    }
    if !always.is_open(now, tz, &rules.hours) {
        let until = always.next_open(now, tz, &rules.hours);
        held.push(Held {
            hold: Hold::OutsideCallingHours,
            until,
        });
    }
    if !is_callback {
        for h in phone_holds(recent, rules, now) {
            earliest = earliest.max(h.until.unwrap_or(earliest));
            held.push(h);
        }
    }
    let callable_at = windows.next_open(earliest, tz, &rules.hours);
    Judgement { held, callable_at }
}

/// What the phone's cap and minimum gap say at `now` about a person tried at `recent`
/// (newest first): the cap, then the gap, each while it binds, with the instant it stops.
pub fn phone_holds(recent: &[DateTime<Utc>], rules: &Pressure, now: DateTime<Utc>) -> Vec<Held> {
    let mut held = Vec::new();
    let max = rules.cap.max as usize;
    if max > 0 && recent.len() >= max {
        let frees = recent[max - 1] + Duration::seconds(rules.cap.period.as_secs());
        if frees > now {
            held.push(Held {
                hold: Hold::PhoneCap,
                until: Some(frees),
            });
        }
    }
    if let Some(last) = recent.first() {
        let gap_ends = *last + Duration::seconds(rules.min_gap.as_secs());
        if gap_ends > now {
            held.push(Held {
                hold: Hold::PhoneMinGap,
                until: Some(gap_ends),
            });
        }
    }
    held
}

/// Attempts that make [`phone_holds`] end the gap at `gap_until` and the cap at `cap_until`
/// (each `None`: it does not bind): what a group of people alike in their phone rules stands
/// for, since a group carries those ends rather than anyone's history.
pub fn standing_attempts(
    gap_until: Option<DateTime<Utc>>,
    cap_until: Option<DateTime<Utc>>,
    rules: &Pressure,
) -> Vec<DateTime<Utc>> {
    let cap_at = cap_until.map(|c| c - Duration::seconds(rules.cap.period.as_secs()));
    let last = gap_until.map(|g| g - Duration::seconds(rules.min_gap.as_secs()));
    let mut recent: Vec<DateTime<Utc>> = last.into_iter().collect();
    if let Some(at) = cap_at {
        if recent.is_empty() {
            recent.push(at);
        }
        recent.resize((rules.cap.max as usize).max(1), at);
    }
    recent
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules() -> Pressure {
        Pressure {
            hours: "08:00-21:00".parse().unwrap(),
            cap: "3/24h".parse().unwrap(),
            min_gap: "1h".parse().unwrap(),
        }
    }

    fn shanghai() -> Tz {
        "Asia/Shanghai".parse().unwrap()
    }

    #[test]
    fn every_rule_that_holds_a_contact_is_named_with_when_it_stops() {
        // 22:30 in Shanghai, called 40 minutes ago, windows 09:00-12:00 every day.
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 14, 30, 0).unwrap();
        let windows: Windows =
            r#"[{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"09:00","end":"12:00"}]"#
                .parse()
                .unwrap();
        let last = now - Duration::minutes(40);
        let j = judge(&windows, shanghai(), false, &[last], &rules(), now);
        let holds: Vec<Hold> = j.held.iter().map(|h| h.hold).collect();
        assert_eq!(
            holds,
            [
                Hold::OutsideCampaignWindow,
                Hold::OutsideCallingHours,
                Hold::PhoneMinGap
            ]
        );
        let nine = Utc.with_ymd_and_hms(2026, 11, 26, 1, 0, 0).unwrap();
        let eight = Utc.with_ymd_and_hms(2026, 11, 26, 0, 0, 0).unwrap();
        assert_eq!(j.held[0].until, Some(nine));
        assert_eq!(j.held[1].until, Some(eight));
        assert_eq!(j.held[2].until, Some(last + Duration::hours(1)));
        assert_eq!(j.callable_at, Some(nine));
        assert_eq!(j.first(), Some(Hold::OutsideCampaignWindow));
    }

    #[test]
    fn the_attempts_a_standing_stands_for_give_back_its_gap_and_cap() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap();
        let at = |minutes| Some(now + Duration::minutes(minutes));
        for (gap, cap) in [
            (at(20), at(600)),
            (at(20), None),
            (None, at(600)),
            (at(60), at(30)),
        ] {
            let recent = standing_attempts(gap, cap, &rules());
            let holds = phone_holds(&recent, &rules(), now);
            let until = |hold| holds.iter().find(|h| h.hold == hold).and_then(|h| h.until);
            assert_eq!(
                (until(Hold::PhoneMinGap), until(Hold::PhoneCap)),
                (gap, cap)
            );
        }
        assert!(standing_attempts(None, None, &rules()).is_empty());
    }

    #[test]
    fn nothing_holds_a_contact_the_windows_and_rules_allow() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap(); // 12:00 Shanghai
        let j = judge(&Windows::always(), shanghai(), false, &[], &rules(), now);
        assert!(j.held.is_empty());
        assert_eq!(j.callable_at, Some(now));
    }
}
