//! Whether a parsed number can exist: some numbering plan of its country code has a kind of
//! number (landline, mobile, toll-free…) whose pattern matches the whole national number.
//!
//! The plans are libphonenumber's metadata as the `phonenumber` crate carries it: version
//! 0.3.10+9.0.33, i.e. libphonenumber v9.0.33 (`assets/update.sh` and
//! `assets/PhoneNumberMetadata.xml` in the crate's source). The crate's own `is_valid` is not
//! used: it checks that a pattern matches from the start of the number, never that it reaches
//! the end, so `99999999999` passed as a CN landline (a shorter one starts like it).
//! libphonenumber itself matches whole numbers, as this module does.
//!
//! Every CN mobile range in service is in that metadata (13x, 145, 147, 15x but 154, 162,
//! 165–167, 170–173, 175–178, 1740 satellite, 18x, 19x but 194), so no range is accepted
//! here against it; `phone::tests` holds each range, and fails if a metadata update loses
//! one. Should a new range open before the crate knows it, add its prefix to a documented
//! allow-list here rather than refuse its subscribers, and drop it once the crate catches up.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, RwLock},
};

use phonenumber::{PhoneNumber, metadata::DATABASE};
use regex::{Regex, RegexBuilder};

/// One kind of number: the lengths it may have and its pattern, anchored at both ends.
struct Kind {
    lengths: Vec<u16>,
    pattern: Regex,
}

impl Kind {
    fn new(desc: &phonenumber::metadata::Descriptor) -> Option<Self> {
        let pattern = RegexBuilder::new(&format!("^(?:{})$", desc.national_number().as_str()))
            .ignore_whitespace(true)
            .build()
            .ok()?;
        Some(Kind {
            lengths: desc.possible_length().to_vec(),
            pattern,
        })
    }

    fn matches(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
            && self.pattern.is_match(national)
    }
}

/// One region's plan: what any of its numbers looks like, and its kinds of number.
struct Plan {
    general: Kind,
    kinds: Vec<Kind>,
}

impl Plan {
    fn new(meta: &phonenumber::Metadata) -> Option<Self> {
        let d = meta.descriptors();
        // Landlines and mobiles first: nearly every number is one.
        let kinds = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.voip(),
            d.personal_number(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        Some(Plan {
            general: Kind::new(d.general())?,
            kinds: kinds.into_iter().flatten().filter_map(Kind::new).collect(),
        })
    }

    fn admits(&self, national: &str) -> bool {
        self.general.matches(national) && self.kinds.iter().any(|k| k.matches(national))
    }
}

/// The plans of each country code met so far (a few regions in practice), built on first use.
static PLANS: LazyLock<RwLock<HashMap<u16, Arc<Vec<Plan>>>>> = LazyLock::new(Default::default);

fn plans(code: u16) -> Arc<Vec<Plan>> {
    if let Some(plans) = PLANS.read().unwrap_or_else(|e| e.into_inner()).get(&code) {
        return plans.clone();
    }
    let built: Vec<Plan> = DATABASE
        .by_code(&code)
        .unwrap_or_default()
        .into_iter()
        .filter_map(Plan::new)
        .collect();
    PLANS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(code)
        .or_insert_with(|| Arc::new(built))
        .clone()
}

/// Whether `number` is a number some region of its country code can have. A country code
/// shared by several regions (+1, +7) admits a number valid in any of them.
pub fn exists(number: &PhoneNumber) -> bool {
    let national = number.national().to_string();
    plans(number.code().value())
        .iter()
        .any(|plan| plan.admits(&national))
}
