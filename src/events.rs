//! The live stream's events: what each kind is about. Each is written in the transaction that
//! made it happen (see `store::events`) and streamed by the service's hub. A client that
//! missed more than a replay can send gets a reset instead ([`Held::replay_from`]).

use crate::ids::EventId;

crate::text_enum! {
    /// What an event of the live stream is about (its SSE `event:` name).
    pub enum EventKind {
        /// An outcome was recorded: campaign, offer, agent, disposition, time; never a phone.
        Outcome = "outcome",
        /// A campaign changed status, or its recurrence re-opened contacts.
        Campaign = "campaign",
        /// An agent's state changed: agent, state, reason, since; never a phone.
        Agent = "agent",
        /// A call was handed out, released or its lease ran out: call, campaign, contact id,
        /// agent; never a phone.
        Call = "call",
    }
}

crate::text_enum! {
    /// Why a stream sends `event: reset` instead of the events a client missed: the client
    /// must reload what it shows, then carries on from the reset's id.
    pub enum ResetReason {
        /// More events were missed than one replay sends (`OUTCALL_EVENT_REPLAY_LIMIT`), on
        /// reconnecting or by falling behind the live stream.
        TooMany = "too_many",
        /// Some of the missed events are no longer held (events are pruned after a day).
        Expired = "expired",
        /// The client's last id is newer than any event held: it came from another database.
        UnknownId = "unknown_id",
    }
}

/// The ids the event log holds: the oldest still kept and the newest (0 when there is none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub oldest: Option<EventId>,
    pub newest: EventId,
}

impl Held {
    /// Whether every event after `after` that ever existed is still held, so that a replay
    /// from there can be whole (if it is not too long). An id may be missing only because it
    /// was pruned or never committed (a PostgreSQL sequence skips on rollback); a gap right
    /// after `after` is taken for pruned, which costs at worst one needless reload.
    pub fn replay_from(&self, after: EventId) -> Result<(), ResetReason> {
        if after > self.newest {
            return Err(ResetReason::UnknownId);
        }
        match self.oldest {
            Some(oldest) if after.get() + 1 < oldest.get() => Err(ResetReason::Expired),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(oldest: i64, newest: i64) -> Held {
        Held {
            oldest: (oldest > 0).then_some(EventId(oldest)),
            newest: EventId(newest),
        }
    }

    #[test]
    fn a_replay_is_whole_only_from_an_id_the_log_still_reaches() {
        let log = held(100, 200);
        assert_eq!(
            log.replay_from(EventId(99)),
            Ok(()),
            "just before the oldest"
        );
        assert_eq!(log.replay_from(EventId(150)), Ok(()));
        assert_eq!(log.replay_from(EventId(200)), Ok(()), "nothing missed");
        assert_eq!(log.replay_from(EventId(98)), Err(ResetReason::Expired));
        assert_eq!(log.replay_from(EventId(0)), Err(ResetReason::Expired));
        assert_eq!(log.replay_from(EventId(201)), Err(ResetReason::UnknownId));
    }

    #[test]
    fn an_empty_log_replays_only_from_the_start() {
        let empty = held(0, 0);
        assert_eq!(empty.replay_from(EventId(0)), Ok(()));
        assert_eq!(empty.replay_from(EventId(7)), Err(ResetReason::UnknownId));
        assert_eq!(
            held(1, 5).replay_from(EventId(0)),
            Ok(()),
            "all of it is held"
        );
    }
}
