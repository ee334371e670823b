//! Reading a JSON contact list as it streams in: `{"contacts": [ … ]}` read element by element
//! into the same batches as a CSV (see [`super::csv`]), so a list of any size is read in flat
//! memory. Each contact is checked on its own: one that is not even the right shape (a number
//! where a text belongs) is an invalid row like a bad phone, never a reason to refuse the rest.
//! The bounds of [`super::bounds`] (nesting, one contact's size) are watched as bytes arrive:
//! past one, the reading ends with an error naming it.

use crate::codes::Code;
use std::{collections::HashSet, fmt, io::Read};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::{
    Region,
    bounds::{Cut, Watched},
    csv::Batch,
    import::{Invalid, RawContact, RowContext, RowError},
};
use crate::ids::AgentId;

/// Reads `{"contacts": [...]}` from `input`, handing each batch to `emit` (stopping early when
/// it returns false). The first `skip` contacts are read but not handed on (resuming). Input
/// that is not such a document ends the reading with one error message.
pub fn read_json(
    input: impl Read,
    region: Region,
    agents: &HashSet<AgentId>,
    skip: u64,
    batch_rows: usize,
    mut emit: impl FnMut(Result<Batch, String>) -> bool,
) {
    let exists = |id: AgentId| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let mut reading = Reading {
        ctx: &ctx,
        skip,
        batch_rows,
        index: 0,
        batch: Batch::default(),
        emit: &mut emit,
        stopped: false,
    };
    // The watch sits between the buffer and the parser, so it sees each byte as the parser takes
    // it and stops the parser before it buffers a value past a bound.
    let (watched, cut) = Watched::new(std::io::BufReader::new(input));
    let mut de = serde_json::Deserializer::from_reader(watched);
    let read = Document(&mut reading)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    match read {
        Err(_) if reading.stopped => {}
        Err(_) if cut.get().is_some() => {
            let cut = cut.get().unwrap_or(Cut::ContactBytes);
            let at = reading.index + 1;
            (reading.emit)(Err(format!("the upload {cut} (at contact {at})")));
        }
        Err(e) => {
            (reading.emit)(Err(format!("the upload is not a contact list: {e}")));
        }
        Ok(()) if reading.batch.read > 0 => {
            let batch = std::mem::take(&mut reading.batch);
            (reading.emit)(Ok(batch));
        }
        Ok(()) => {}
    }
}

/// Checks the contacts of a small JSON upload parsed whole (its bounds were checked on its bytes
/// first, see [`super::bounds::check_json_head`]), in batches.
pub fn check_json(
    contacts: Vec<RawContact>,
    region: Region,
    agents: &HashSet<AgentId>,
    batch_rows: usize,
) -> Vec<Batch> {
    let exists = |id: AgentId| agents.contains(&id);
    let ctx = RowContext {
        region,
        agent_exists: &exists,
    };
    let mut batches = vec![];
    let mut batch = Batch::default();
    for (i, raw) in contacts.into_iter().enumerate() {
        batch.read += 1;
        match raw.check(&ctx) {
            Ok(c) => batch.rows.push(c),
            Err(e) => batch.invalid.push(Invalid::of(i as u64 + 1, e)),
        }
        if batch.read as usize >= batch_rows {
            batches.push(std::mem::take(&mut batch));
        }
    }
    if batch.read > 0 {
        batches.push(batch);
    }
    batches
}

struct Reading<'a, 'c, F> {
    ctx: &'a RowContext<'c>,
    skip: u64,
    batch_rows: usize,
    /// Contacts seen so far (the row number of the last one).
    index: u64,
    batch: Batch,
    emit: &'a mut F,
    /// The receiver wanted no more.
    stopped: bool,
}

impl<F: FnMut(Result<Batch, String>) -> bool> Reading<'_, '_, F> {
    /// One element of the list; false once the receiver wants no more.
    fn contact(&mut self, value: serde_json::Value) -> bool {
        self.index += 1;
        if self.index <= self.skip {
            return true;
        }
        self.batch.read += 1;
        let checked = serde_json::from_value::<RawContact>(value)
            .map_err(|e| RowError::new(Code::NotAContact, format!("is not a contact: {e}")))
            .and_then(|raw| raw.check(self.ctx));
        match checked {
            Ok(contact) => self.batch.rows.push(contact),
            Err(e) => self.batch.invalid.push(Invalid::of(self.index, e)),
        }
        if self.batch.read as usize >= self.batch_rows
            && !(self.emit)(Ok(std::mem::take(&mut self.batch)))
        {
            self.stopped = true;
            return false;
        }
        true
    }
}

/// The document: an object whose `contacts` is the list.
struct Document<'r, 'a, 'c, F>(&'r mut Reading<'a, 'c, F>);

impl<'de, F: FnMut(Result<Batch, String>) -> bool> DeserializeSeed<'de>
    for Document<'_, '_, '_, F>
{
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Result<Batch, String>) -> bool> Visitor<'de> for Document<'_, '_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a `contacts` list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if key != "contacts" || seen {
                return Err(de::Error::custom(format!("unexpected field `{key}`")));
            }
            seen = true;
            map.next_value_seed(List(&mut *self.0))?;
        }
        if seen {
            Ok(())
        } else {
            Err(de::Error::missing_field("contacts"))
        }
    }
}

/// The `contacts` list, read one element at a time.
struct List<'r, 'a, 'c, F>(&'r mut Reading<'a, 'c, F>);

impl<'de, F: FnMut(Result<Batch, String>) -> bool> DeserializeSeed<'de> for List<'_, '_, '_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Result<Batch, String>) -> bool> Visitor<'de> for List<'_, '_, '_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of contacts")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(value) = seq.next_element::<serde_json::Value>()? {
            if !self.0.contact(value) {
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, skip: u64) -> (Vec<Batch>, Vec<String>) {
        let (mut batches, mut errors) = (vec![], vec![]);
        let agents = HashSet::new();
        read_json(
            text.as_bytes(),
            Region::parse("CN").unwrap(),
            &agents,
            skip,
            crate::contacts::csv::BATCH,
            |m| {
                match m {
                    Ok(b) => batches.push(b),
                    Err(e) => errors.push(e),
                }
                true
            },
        );
        (batches, errors)
    }

    #[test]
    fn each_contact_is_checked_on_its_own_even_when_it_has_the_wrong_shape() {
        let text = r#"{"contacts": [{"phone": "13800138000"}, {"phone": 5}, "nonsense", {"phone": "nope"}]}"#;
        let (batches, errors) = read(text, 0);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].read, 4);
        assert_eq!(batches[0].rows.len(), 1);
        let rows: Vec<u64> = batches[0].invalid.iter().map(|i| i.row).collect();
        assert_eq!(rows, vec![2, 3, 4]);
    }

    #[test]
    fn resuming_skips_exactly_the_contacts_already_read() {
        let text = r#"{"contacts": [{"phone": "13800138000"}, {"phone": "13800138001"}, {"phone": "13800138002"}]}"#;
        let (batches, _) = read(text, 2);
        assert_eq!(batches[0].read, 1);
        assert_eq!(batches[0].rows[0].phone.as_str(), "+8613800138002");
    }

    #[test]
    fn a_document_that_is_not_a_contact_list_is_one_error() {
        for text in [
            "[1, 2]",
            r#"{"people": []}"#,
            r#"{"contacts": [{"phone": "1"}"#,
            "{}",
        ] {
            let (_, errors) = read(text, 0);
            assert_eq!(errors.len(), 1, "{text}: {errors:?}");
        }
    }

    #[test]
    fn a_document_past_a_bound_ends_with_one_error_naming_it() {
        let deep = format!(
            r#"{{"contacts": [{{"phone": "13800138000"}}, {}1{}]}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let big = format!(
            r#"{{"contacts": [{{"phone": "13800138000"}}, {{"phone": "{}"}}]}}"#,
            "9".repeat(10 * 1024 * 1024)
        );
        for (text, word) in [(deep, "deeper than 32"), (big, "longer than 65536")] {
            let (_, errors) = read(&text, 0);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].contains(word), "{errors:?}");
        }
    }
}
