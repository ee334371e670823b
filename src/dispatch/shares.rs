//! Shares (issue 27): the order in which the hand-out tries the campaigns an agent may work.
//! Priority is a strict tier: a higher one is always tried first. Within a tier, the campaign
//! furthest below its share of the day's hand-outs comes first, judged from the kept counts of
//! today's hand-outs, never from a count at hand-out time. Pure; the hand-out and the forecast
//! use the same rule.

use std::cmp::Ordering;

use crate::ids::CampaignId;

/// A campaign as the rule sees it: its tier, its share and its hand-outs today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub id: CampaignId,
    pub priority: i64,
    pub share: i64,
    pub today: i64,
}

/// Orders campaigns for the hand-out: higher priority first; within a priority, by how far the
/// next hand-out would take each past its share, `(today + 1) / share`, smallest first (the
/// campaign that is furthest behind), then by id. Over many hand-outs each campaign of a tier
/// that always has a callable contact gets `share / Σ shares` of the tier's hand-outs, within
/// one hand-out at any moment. A campaign that had nothing callable for a while is behind and
/// catches up first: the rule is about the day's hand-outs, not the last hour's.
pub fn order(slices: &mut [Slice]) {
    slices.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| behind(a, b))
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// `(a.today + 1) / a.share` against `(b.today + 1) / b.share`, in integers.
fn behind(a: &Slice, b: &Slice) -> Ordering {
    let lhs = i128::from(a.today.max(0) + 1) * i128::from(b.share.max(1));
    let rhs = i128::from(b.today.max(0) + 1) * i128::from(a.share.max(1));
    lhs.cmp(&rhs)
}

/// Whether any tier holds more than one campaign (otherwise the order is the priority order
/// and the counts need not be read).
pub fn any_shared_tier(priorities: impl IntoIterator<Item = i64>) -> bool {
    let mut seen = std::collections::HashSet::new();
    priorities.into_iter().any(|p| !seen.insert(p))
}

/// Splits `n` hand-outs among a tier's campaigns by the rule, each hand-out given to the
/// first in [`order`] that `wants` still another (its callable contacts are not used up). The
/// forecast uses it to know the agents a campaign gets. Returns the hand-outs each got, in
/// the order of `slices`.
pub fn split(slices: &[Slice], n: i64, mut wants: impl FnMut(usize, i64) -> bool) -> Vec<i64> {
    let mut got = vec![0; slices.len()];
    let mut work: Vec<(usize, Slice)> = slices.iter().copied().enumerate().collect();
    for _ in 0..n.max(0) {
        work.sort_by(|(_, a), (_, b)| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| behind(a, b))
                .then_with(|| a.id.cmp(&b.id))
        });
        let Some((i, s)) = work.iter_mut().find(|(i, _)| wants(*i, got[*i])) else {
            break;
        };
        got[*i] += 1;
        s.today += 1;
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(id: i64, priority: i64, share: i64, today: i64) -> Slice {
        Slice {
            id: CampaignId(id),
            priority,
            share,
            today,
        }
    }

    #[test]
    fn priority_is_a_strict_tier_whatever_the_counts() {
        let mut s = [slice(1, 40, 100, 0), slice(2, 60, 1, 1_000)];
        order(&mut s);
        assert_eq!(s[0].id, CampaignId(2));
    }

    #[test]
    fn shares_three_and_one_give_three_quarters_and_one_quarter() {
        let s = [slice(1, 50, 3, 0), slice(2, 50, 1, 0)];
        let got = split(&s, 400, |_, _| true);
        assert_eq!(got, vec![300, 100]);
    }

    #[test]
    fn a_campaign_with_nothing_left_gives_its_turns_to_the_others() {
        let s = [slice(1, 50, 3, 0), slice(2, 50, 1, 0)];
        let got = split(&s, 400, |i, n| i == 1 || n < 10);
        assert_eq!(got, vec![10, 390]);
    }

    #[test]
    fn the_furthest_behind_its_share_comes_first() {
        let mut s = [slice(1, 50, 3, 30), slice(2, 50, 1, 5)];
        order(&mut s);
        assert_eq!(s[0].id, CampaignId(2));
    }

    #[test]
    fn shared_tiers_are_seen() {
        assert!(any_shared_tier([50, 40, 50]));
        assert!(!any_shared_tier([50, 40, 30]));
    }
}
