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

/// A campaign as the forecast's fluid version of the rule sees it: its tier and share, its
/// hand-outs so far today, the contacts it has due and what one hand-out costs (seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fluid {
    pub priority: i64,
    pub share: i64,
    pub today: f64,
    pub due: f64,
    pub cost: f64,
}

/// [`split`] for fractional hand-outs (the forecast's cohorts): `budget` (in the unit of
/// `cost`) goes to the highest tier first, up to what it has due; within a tier it fills the
/// campaigns furthest behind their share first, so that afterwards every campaign that still
/// has something due stands at the same `today / share`, none given more than it has due.
/// Returns the hand-outs each gets, in the order of `slices`.
pub fn split_fluid(slices: &[Fluid], mut budget: f64) -> Vec<f64> {
    let mut got = vec![0.0; slices.len()];
    let mut tiers: Vec<i64> = slices.iter().map(|s| s.priority).collect();
    tiers.sort_unstable_by(|a, b| b.cmp(a));
    tiers.dedup();
    for tier in tiers {
        if budget <= 0.0 {
            break;
        }
        let members: Vec<usize> = (0..slices.len())
            .filter(|&i| slices[i].priority == tier && slices[i].due > 0.0)
            .collect();
        let at = |level: f64, i: usize| {
            let s = &slices[i];
            (level * s.share.max(1) as f64 - s.today.max(0.0)).clamp(0.0, s.due)
        };
        let spend =
            |level: f64| -> f64 { members.iter().map(|&i| at(level, i) * slices[i].cost).sum() };
        let all: f64 = members
            .iter()
            .map(|&i| slices[i].due * slices[i].cost)
            .sum();
        if let [only] = members[..] {
            let s = &slices[only];
            if s.due * s.cost < budget {
                got[only] = s.due;
                budget -= s.due * s.cost;
                continue;
            }
            got[only] = budget / s.cost;
            break;
        }
        if all <= budget {
            for &i in &members {
                got[i] = slices[i].due;
            }
            budget -= all;
            continue;
        }
        // The level every campaign is filled up to: found by halving, as `spend` grows with it.
        let (mut lo, mut hi) = (0.0, 0.0f64);
        for &i in &members {
            let s = &slices[i];
            hi = hi.max((s.today.max(0.0) + s.due) / s.share.max(1) as f64);
        }
        for _ in 0..60 {
            let mid = (lo + hi) / 2.0;
            if spend(mid) <= budget {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        for &i in &members {
            got[i] = at(lo, i);
        }
        break;
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

    fn fluid(priority: i64, share: i64, today: f64, due: f64) -> Fluid {
        Fluid {
            priority,
            share,
            today,
            due,
            cost: 1.0,
        }
    }

    #[test]
    fn the_fluid_split_follows_the_same_rule_as_the_hand_out() {
        let (mut a, mut b) = (0.0, 0.0);
        for _ in 0..100 {
            let got = split_fluid(&[fluid(50, 3, a, 1e9), fluid(50, 1, b, 1e9)], 4.0);
            (a, b) = (a + got[0], b + got[1]);
        }
        assert!(
            (a - 300.0).abs() < 1e-6 && (b - 100.0).abs() < 1e-6,
            "{a} {b}"
        );
        let got = split_fluid(&[fluid(50, 3, 0.0, 2.0), fluid(50, 1, 0.0, 1e9)], 10.0);
        assert!(
            (got[0] - 2.0).abs() < 1e-6 && (got[1] - 8.0).abs() < 1e-6,
            "{got:?}"
        );
        let got = split_fluid(&[fluid(40, 3, 0.0, 1e9), fluid(60, 1, 9.0, 4.0)], 10.0);
        assert!(
            (got[0] - 6.0).abs() < 1e-6 && (got[1] - 4.0).abs() < 1e-6,
            "{got:?}"
        );
        let got = split_fluid(&[fluid(50, 1, 0.0, 1e9), fluid(50, 1, 6.0, 1e9)], 4.0);
        assert!(
            (got[0] - 4.0).abs() < 1e-6 && got[1].abs() < 1e-6,
            "{got:?}"
        );
    }

    #[test]
    fn shared_tiers_are_seen() {
        assert!(any_shared_tier([50, 40, 50]));
        assert!(!any_shared_tier([50, 40, 30]));
    }
}
