//! Managing an open callback: a lead or supervisor hands it to another agent (or to anyone in
//! the campaign), moves it to another time, or cancels it. Pure rules; the store applies them.

use crate::{contacts::ContactState, duration::Span, ids::AgentId, time::Instant};

/// An open callback as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenCallback {
    /// The agent it is reserved for; `None` when anyone in the campaign may take it.
    pub agent: Option<AgentId>,
    /// When it is due.
    pub at: Instant,
}

/// What a lead or supervisor asks; `None` leaves a part as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallbackChange {
    /// `Some(None)` opens it to the whole campaign.
    pub agent: Option<Option<AgentId>>,
    pub at: Option<Instant>,
    pub cancel: bool,
}

/// Where the callback's queue entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub state: ContactState,
    pub reserved_for: Option<AgentId>,
    pub is_callback: bool,
    pub next_attempt_at: Instant,
    /// When it opens to every agent of the campaign.
    pub release_at: Instant,
}

/// Applies `change` to `open` at `now`. A cancelled callback is finished (`done`): nobody calls
/// the person back. Otherwise it waits (`scheduled`) until due: an agent's callback is theirs
/// until `grace` after it is due (or after now, for one already due), then opens to the
/// campaign, as an agent's own callback does.
pub fn change_callback(
    open: OpenCallback,
    change: &CallbackChange,
    grace: Span,
    now: Instant,
) -> Moved {
    if change.cancel {
        return Moved {
            state: ContactState::Done,
            reserved_for: None,
            is_callback: false,
            next_attempt_at: open.at,
            release_at: open.at,
        };
    }
    let agent = change.agent.unwrap_or(open.agent);
    let at = change.at.unwrap_or(open.at);
    let release_at = match agent {
        Some(_) => at.max(now) + grace,
        None => at,
    };
    Moved {
        state: ContactState::Scheduled,
        reserved_for: agent,
        is_callback: true,
        next_attempt_at: at,
        release_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn open(agent: Option<i64>) -> OpenCallback {
        OpenCallback {
            agent: agent.map(AgentId),
            at: Instant::from_millis(10 * HOUR),
        }
    }

    #[test]
    fn a_reassigned_callback_is_the_new_agents_until_the_grace_after_it_is_due() {
        let grace = Span::from_secs(900);
        let change = CallbackChange {
            agent: Some(Some(AgentId(2))),
            ..Default::default()
        };
        let moved = change_callback(open(Some(1)), &change, grace, Instant::from_millis(HOUR));
        assert_eq!(moved.reserved_for, Some(AgentId(2)));
        assert_eq!(moved.state, ContactState::Scheduled);
        assert_eq!(moved.next_attempt_at, Instant::from_millis(10 * HOUR));
        assert_eq!(moved.release_at, Instant::from_millis(10 * HOUR + 900_000));
        let late = change_callback(open(None), &change, grace, Instant::from_millis(12 * HOUR));
        assert_eq!(
            late.release_at,
            Instant::from_millis(12 * HOUR + 900_000),
            "one already due is the agent's for the grace from now"
        );
    }

    #[test]
    fn an_opened_or_rescheduled_callback_keeps_what_was_not_asked() {
        let grace = Span::from_secs(900);
        let now = Instant::from_millis(HOUR);
        let opened = CallbackChange {
            agent: Some(None),
            ..Default::default()
        };
        let moved = change_callback(open(Some(1)), &opened, grace, now);
        assert_eq!(moved.reserved_for, None);
        assert_eq!(moved.release_at, moved.next_attempt_at);
        let later = CallbackChange {
            at: Some(Instant::from_millis(20 * HOUR)),
            ..Default::default()
        };
        let moved = change_callback(open(Some(1)), &later, grace, now);
        assert_eq!(moved.reserved_for, Some(AgentId(1)));
        assert_eq!(moved.next_attempt_at, Instant::from_millis(20 * HOUR));
    }

    #[test]
    fn a_cancelled_callback_is_done() {
        let cancel = CallbackChange {
            cancel: true,
            ..Default::default()
        };
        let moved = change_callback(
            open(Some(1)),
            &cancel,
            Span::from_secs(0),
            Instant::from_millis(0),
        );
        assert_eq!(moved.state, ContactState::Done);
        assert!(!moved.is_callback);
        assert_eq!(moved.reserved_for, None);
    }
}
