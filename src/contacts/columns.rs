//! A list's header read into [`Columns`]: which column holds the phone, the name, the zone, the
//! external id, the priority and the owner, what a mapping given with the upload says, and which
//! columns are attributes; then each record read through them into a [`RawContact`] to check.

use std::collections::HashSet;

use crate::codes::Code;

use super::{
    NewContact,
    import::{MAX_ATTRIBUTES, OwnerInput, PriorityInput, RawContact, RowContext, RowError, quote},
    mapping::{Mapping, Target},
};

/// Which CSV column holds what.
#[derive(Debug, Clone)]
pub struct Columns {
    phone: usize,
    name: Option<usize>,
    timezone: Option<usize>,
    external_id: Option<usize>,
    priority: Option<usize>,
    owner_agent: Option<usize>,
    attributes: Vec<(usize, String)>,
    width: usize,
    /// Each column's name and what it is read as (`None`: skipped), for a preview.
    pub resolved: Vec<(String, Option<Target>)>,
}

/// Why a header cannot be read: the field to name (`phone`, or `mapping` when the mapping
/// given is at fault) and the message.
pub type HeaderError = (&'static str, String);

impl Columns {
    /// Reads the header row. A column is what `mapping` says it is, else what its name is
    /// recognised as ([`Target::recognise`]: the first column recognised as a field takes it,
    /// a later one becomes an attribute under its own name), else an attribute. A phone column
    /// is required.
    pub fn from_header(header: &[String], mapping: Option<&Mapping>) -> Result<Self, HeaderError> {
        let bad = |m: String| ("phone", m);
        let mut names = Vec::with_capacity(header.len());
        let mut seen = HashSet::new();
        for (i, raw) in header.iter().enumerate() {
            let name = raw.trim_start_matches('\u{feff}').trim();
            if !name.is_empty() && !seen.insert(name.to_lowercase()) {
                return Err(bad(format!(
                    "column '{}' appears twice in the header",
                    quote(name)
                )));
            }
            if name.chars().any(char::is_control) || name.chars().count() > 200 {
                return Err(bad(format!("column {} has an unusable name", i + 1)));
            }
            names.push(name.to_owned());
        }
        if let Some(mapping) = mapping
            && let Some(missing) = mapping.0.keys().find(|k| !seen.contains(&k.to_lowercase()))
        {
            return Err((
                "mapping",
                format!(
                    "names column '{}', which the header does not have",
                    quote(missing)
                ),
            ));
        }
        // Mapped columns first: they take their fields before any recognised name does.
        let mut resolved: Vec<Option<Option<Target>>> = names
            .iter()
            .map(|n| mapping.and_then(|m| m.get(n)).cloned())
            .collect();
        let mut taken: HashSet<Target> = HashSet::new();
        for (i, target) in resolved.iter().enumerate() {
            if let Some(Some(t)) = target
                && !taken.insert(t.clone())
            {
                return Err((
                    "mapping",
                    format!("maps two columns to {} (column {})", t.spelling(), i + 1),
                ));
            }
        }
        for (i, target) in resolved.iter_mut().enumerate() {
            if target.is_some() || names[i].is_empty() {
                continue;
            }
            let known = Target::recognise(&names[i]).filter(|t| !taken.contains(t));
            let t = known.unwrap_or_else(|| Target::Attribute(names[i].clone()));
            if !taken.insert(t.clone()) {
                return Err(bad(format!(
                    "column '{}' is read as {}, which another column already is",
                    quote(&names[i]),
                    t.spelling()
                )));
            }
            *target = Some(Some(t));
        }
        let mut cols = Columns {
            phone: usize::MAX,
            name: None,
            timezone: None,
            external_id: None,
            priority: None,
            owner_agent: None,
            attributes: vec![],
            width: header.len(),
            resolved: vec![],
        };
        for (i, target) in resolved.iter().enumerate() {
            match target.clone().flatten() {
                None => {}
                Some(Target::Phone) => cols.phone = i,
                Some(Target::Name) => cols.name = Some(i),
                Some(Target::Timezone) => cols.timezone = Some(i),
                Some(Target::ExternalId) => cols.external_id = Some(i),
                Some(Target::Priority) => cols.priority = Some(i),
                Some(Target::OwnerAgent) => cols.owner_agent = Some(i),
                Some(Target::Attribute(key)) => cols.attributes.push((i, key)),
            }
        }
        cols.resolved = names
            .into_iter()
            .zip(resolved)
            .map(|(n, t)| (n, t.flatten()))
            .collect();
        if cols.phone == usize::MAX {
            return Err(match mapping {
                Some(_) => ("mapping", "maps no column to phone".into()),
                None => bad(
                    "the header has no phone column (phone, 手机号码, 手机, 电话, 号码, 联系电话 or \
                     mobile; or give a mapping)"
                        .into(),
                ),
            });
        }
        if cols.attributes.len() > MAX_ATTRIBUTES {
            return Err(bad(format!("at most {MAX_ATTRIBUTES} attribute columns")));
        }
        Ok(cols)
    }

    /// Reads one record (fields already UTF-8 checked by the caller).
    pub fn read(&self, fields: &[&str], ctx: &RowContext) -> Result<NewContact, RowError> {
        if let Some(column) = fields.iter().position(|f| f.contains('\0')) {
            return Err(RowError::new(
                Code::NulByte,
                format!("column {} has a NUL byte", column + 1),
            )
            .param("column", column + 1)
            .value(fields[column]));
        }
        if fields.len() > self.width && fields[self.width..].iter().any(|f| !f.trim().is_empty()) {
            let extra = fields[self.width..].iter().find(|f| !f.trim().is_empty());
            return Err(RowError::new(
                Code::TooManyFields,
                format!(
                    "has {} fields but the header has {}",
                    fields.len(),
                    self.width
                ),
            )
            .param("fields", fields.len())
            .param("columns", self.width)
            .value(extra.copied().unwrap_or("")));
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let raw = RawContact {
            phone: get(Some(self.phone)).unwrap_or("").to_owned(),
            name: get(self.name).map(str::to_owned),
            timezone: get(self.timezone).map(str::to_owned),
            external_id: get(self.external_id).map(str::to_owned),
            priority: get(self.priority).map(|p| PriorityInput::Text(p.to_owned())),
            owner_agent: get(self.owner_agent).map(|p| OwnerInput::Text(p.to_owned())),
            attributes: self
                .attributes
                .iter()
                .filter_map(|(i, name)| {
                    fields
                        .get(*i)
                        .map(|v| (name.clone(), serde_json::Value::String(v.trim().to_owned())))
                })
                .collect(),
        };
        raw.check(ctx)
    }
}
