//! One client's live feed of events (`GET /v1/events`): what it missed since its last id, then
//! every new event as the hub broadcasts it.
//!
//! - A replay is sent only whole. When what was missed cannot all be sent — more than the
//!   replay limit, events already pruned, an id the log never had — the feed sends one
//!   [`FeedItem::Reset`] with the newest id instead, so the client reloads what it shows and a
//!   reconnect carries on from there; then it goes on live. A client that falls behind the
//!   broadcast is caught up from the table by the same rule.
//! - The feed re-checks its token every few seconds (one primary-key read on the read
//!   connections) and ends once the token is revoked or its agent deactivated.
//! - It holds its [`StreamSlot`], so the place counts against the caps exactly while the feed
//!   lives: the edge drops the feed when the client goes away.

use std::{collections::VecDeque, sync::Arc};

use futures::{Stream, stream};
use tokio::{
    sync::broadcast::{self, error::RecvError},
    time::{Interval, MissedTickBehavior},
};
use tokio_util::sync::CancellationToken;

use crate::{
    events::ResetReason,
    ids::EventId,
    store::{Store, events::EventRow},
};

use super::{Result, Service, hub::StreamSlot};

/// What a feed sends.
#[derive(Debug, Clone)]
pub enum FeedItem {
    /// An event, in id order.
    Event(Arc<EventRow>),
    /// What was missed cannot all be sent: reload, and carry on after `last`.
    Reset { last: EventId, reason: ResetReason },
}

/// What a client that last saw an id is sent first.
enum CatchUp {
    /// Everything it missed (maybe nothing), oldest first.
    Replay(Vec<EventRow>),
    /// A reset at the newest id.
    Reset(EventId, ResetReason),
}

/// Reads what came after `after`, if it can be sent whole.
async fn catch_up(store: &Store, after: EventId, limit: usize) -> Result<CatchUp> {
    let held = store.events_held().await?;
    if let Err(reason) = held.replay_from(after) {
        return Ok(CatchUp::Reset(held.newest, reason));
    }
    let rows = store.events_after(after, limit as i64 + 1).await?;
    if rows.len() > limit {
        // The newest now, read after the rows: nothing the reset skips is sent again.
        let newest = store.events_last_id().await?;
        return Ok(CatchUp::Reset(newest, ResetReason::TooMany));
    }
    Ok(CatchUp::Replay(rows))
}

struct Feed {
    store: Store,
    clock: crate::clock::SharedClock,
    shutdown: CancellationToken,
    rx: broadcast::Receiver<Arc<EventRow>>,
    backlog: VecDeque<EventRow>,
    reset: Option<(EventId, ResetReason)>,
    last: EventId,
    limit: usize,
    recheck: Interval,
    slot: StreamSlot,
}

impl Feed {
    fn apply(&mut self, catch_up: CatchUp) {
        match catch_up {
            CatchUp::Replay(rows) => self.backlog = rows.into(),
            CatchUp::Reset(last, reason) => {
                self.backlog.clear();
                self.reset = Some((last, reason));
            }
        }
    }

    /// The next item, or `None` when the feed ends (shutdown, a dead token, a failed read).
    async fn next(&mut self) -> Option<FeedItem> {
        loop {
            if let Some((last, reason)) = self.reset.take() {
                // Exactly the reset's id, even below the client's: an id the log never had
                // must not hide the events that come next.
                self.last = last;
                return Some(FeedItem::Reset { last, reason });
            }
            if let Some(row) = self.backlog.pop_front() {
                if row.id > self.last {
                    self.last = row.id;
                    return Some(FeedItem::Event(Arc::new(row)));
                }
                continue;
            }
            let received = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return None,
                _ = self.recheck.tick() => {
                    let now = self.clock.now();
                    match self.store.token_live(self.slot.token(), now).await {
                        Ok(true) => {}
                        Ok(false) => return None,
                        // A database blip does not end every dashboard: nothing new can be
                        // read while it lasts, and the next re-check decides.
                        Err(e) => tracing::warn!(error = %e, "event stream could not re-check its token"),
                    }
                    continue;
                }
                r = self.rx.recv() => r,
            };
            match received {
                Ok(row) if row.id > self.last => {
                    self.last = row.id;
                    return Some(FeedItem::Event(row));
                }
                Ok(_) => continue,
                // Fell behind: catch up from the table instead of slowing anyone down.
                Err(RecvError::Lagged(_)) => {
                    match catch_up(&self.store, self.last, self.limit).await {
                        Ok(next) => self.apply(next),
                        // The client reconnects with its last id and is served then.
                        Err(e) => {
                            tracing::warn!(error = %e, "event stream could not catch up; ending it");
                            return None;
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

impl Service {
    /// The feed of a stream that holds `slot`: what was missed after `after` (or a reset), then
    /// live events; from now when `after` is `None`.
    #[tracing::instrument(skip_all)]
    pub async fn event_feed(
        &self,
        slot: StreamSlot,
        after: Option<EventId>,
    ) -> Result<impl Stream<Item = FeedItem> + Send + use<>> {
        let limits = self.events.limits;
        // Subscribe before reading the table, so nothing falls between the two.
        let rx = self.events.subscribe();
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + limits.recheck, limits.recheck);
        recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut feed = Feed {
            store: self.store.clone(),
            clock: self.clock.clone(),
            shutdown: self.events.shutdown.clone(),
            rx,
            backlog: VecDeque::new(),
            reset: None,
            last: EventId(0),
            limit: limits.replay,
            recheck,
            slot,
        };
        match after {
            Some(after) => {
                feed.last = after;
                let first = catch_up(&self.store, after, limits.replay).await?;
                feed.apply(first);
            }
            None => feed.last = self.store.events_last_id().await?,
        }
        Ok(stream::unfold(feed, |mut feed| async move {
            let item = feed.next().await?;
            Some((item, feed))
        }))
    }
}
