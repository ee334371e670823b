//! Property tests of the pure CSV layer: any bytes are answered without a panic and every
//! record is accounted for exactly once; well-formed lists, however they are quoted and
//! laid out, come through with their names and attributes intact; resuming after `skip`
//! counted records gives exactly the rest.

use std::collections::{BTreeMap, HashSet};

use proptest::prelude::*;

use super::csv::{BATCH, Batch, read_csv};
use crate::contacts::{
    NewContact, Region,
    import::Invalid,
    phone::strategies::{STYLES, cn_mobile, written},
};

/// What one call of `read_csv` emitted.
struct Read {
    batches: Vec<Batch>,
    errors: Vec<String>,
}

impl Read {
    fn total(&self) -> u64 {
        self.batches.iter().map(|b| b.read).sum()
    }
    fn rows(&self) -> Vec<&NewContact> {
        self.batches.iter().flat_map(|b| &b.rows).collect()
    }
    fn invalid(&self) -> Vec<&Invalid> {
        self.batches.iter().flat_map(|b| &b.invalid).collect()
    }
}

fn read(input: &[u8], skip: u64) -> Read {
    let agents = HashSet::from([crate::ids::AgentId(7)]);
    let mut out = Read {
        batches: vec![],
        errors: vec![],
    };
    read_csv(
        input,
        &super::csv::CsvOptions::default(),
        Region::parse("CN").unwrap(),
        &agents,
        skip,
        BATCH,
        |m| {
            match m {
                Ok(b) => out.batches.push(b),
                Err(e) => out.errors.push(e),
            }
            true
        },
    );
    out
}

/// Records after the header whose fields are not all blank, counted independently.
fn non_blank_records(input: &[u8]) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(input);
    reader
        .byte_records()
        .skip(1)
        .map(|r| r.unwrap())
        .filter(|r| {
            r.iter().any(|f| match std::str::from_utf8(f) {
                Ok(text) => !text.trim().is_empty(),
                Err(_) => true,
            })
        })
        .count() as u64
}

/// Inputs that look like contact lists, often broken: fragments of headers, phones,
/// quotes, line breaks, BOMs, NULs and Chinese text, or plain random bytes.
fn messy() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("phone".to_owned()),
        Just("name".to_owned()),
        Just("priority".to_owned()),
        Just("owner_agent".to_owned()),
        Just("timezone".to_owned()),
        Just("plan".to_owned()),
        Just(",".to_owned()),
        Just("\"".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just(" ".to_owned()),
        Just("\u{feff}".to_owned()),
        Just("\0".to_owned()),
        Just("13800138000".to_owned()),
        Just("138-0013-8000".to_owned()),
        Just("+86 138".to_owned()),
        Just("Asia/Shanghai".to_owned()),
        Just("王芳".to_owned()),
        "[0-9]{1,12}",
        "[a-z]{1,4}",
        "\\PC{1,3}",
    ];
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(piece.clone(), 0..80).prop_map(|p| p.concat().into_bytes()),
        (
            prop::sample::select(vec![
                "phone\n",
                "phone,name,plan\n",
                "\u{feff}phone,priority,owner_agent,timezone\r\n"
            ]),
            prop::collection::vec(piece, 0..80),
            prop::collection::vec(any::<u8>(), 0..20),
        )
            .prop_map(|(head, p, tail)| {
                let mut bytes = head.as_bytes().to_vec();
                bytes.extend(p.concat().into_bytes());
                bytes.extend(tail);
                bytes
            }),
    ]
}

/// A row as written, and what reading it must give.
#[derive(Debug, Clone)]
struct Expected {
    phone: String,
    name: Option<String>,
    attributes: BTreeMap<String, String>,
}

fn quoted(text: &str, force: bool) -> String {
    if force || text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

const NAME: &str = "[a-zA-Z0-9 ,\"'王芳李雷全球通—]{0,12}";
const VALUE: &str = "[a-zA-Z0-9 ,\"'王芳全球通\r\n\t]{0,12}";

/// A well-formed contact list in random dress: shuffled columns, random quoting, embedded
/// commas, quotes and line breaks, an optional BOM, LF or CRLF, blank lines, Chinese text,
/// trailing empty fields.
fn sheet() -> impl Strategy<Value = (String, Vec<Expected>)> {
    let attributes = prop::collection::btree_set("[a-z]{1,5}|套餐|月消费|地区 一|plan", 0..4)
        .prop_map(|names| {
            names
                .into_iter()
                .filter(|n| !["phone", "name", "timezone", "priority"].contains(&n.as_str()))
                .collect::<Vec<_>>()
        });
    attributes
        .prop_flat_map(|attributes| {
            let width = attributes.len() + 2;
            let row = (
                cn_mobile(),
                0..STYLES,
                prop::option::of(NAME),
                prop::collection::vec(VALUE, width - 2),
                prop::collection::vec(any::<bool>(), width),
                0..3usize,
                0..4u8,
            );
            (
                Just(attributes),
                prop::collection::vec(row, 0..12),
                Just((0..width).collect::<Vec<_>>()).prop_shuffle(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(
            |(attributes, rows, order, bom, crlf, last_newline, title_case)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut header: Vec<String> = vec![
                    if title_case { "Phone" } else { "phone" }.to_owned(),
                    "name".to_owned(),
                ];
                header.extend(attributes.iter().cloned());
                let mut text = String::new();
                if bom {
                    text.push('\u{feff}');
                }
                let cells: Vec<String> = order.iter().map(|&i| quoted(&header[i], false)).collect();
                text.push_str(&cells.join(","));
                let mut expected = vec![];
                for (digits, style, name, values, quote, extra, blank) in rows {
                    text.push_str(eol);
                    match blank {
                        0 => text.push_str(&format!("{}{eol}", ",".repeat(order.len() - 1))),
                        1 => text.push_str(&format!("  {eol}")),
                        _ => {}
                    }
                    let mut fields =
                        vec![written(&digits, style), name.clone().unwrap_or_default()];
                    fields.extend(values.iter().cloned());
                    let cells: Vec<String> = order
                        .iter()
                        .map(|&i| quoted(&fields[i], quote[i]))
                        .collect();
                    text.push_str(&cells.join(","));
                    text.push_str(&",".repeat(extra));
                    expected.push(Expected {
                        phone: format!("+86{digits}"),
                        name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
                        attributes: attributes
                            .iter()
                            .cloned()
                            .zip(values.iter().map(|v| v.trim().to_owned()))
                            .filter(|(_, v)| !v.is_empty())
                            .collect(),
                    });
                }
                if last_newline {
                    text.push_str(eol);
                }
                (text, expected)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any bytes: no panic; either one error about the header and nothing else, or batches
    /// in which every non-blank record is a contact or an invalid row, exactly once, in
    /// order; and resuming after any number of counted records gives exactly the rest.
    #[test]
    fn any_bytes_are_read_without_panic_and_every_record_is_accounted_for_once(
        input in messy(),
        cut in 0.0..=1.0f64,
    ) {
        let all = read(&input, 0);
        if !all.errors.is_empty() {
            prop_assert_eq!(all.errors.len(), 1);
            prop_assert!(all.batches.is_empty());
            return Ok(());
        }
        for b in &all.batches {
            prop_assert!(b.read > 0 && b.read as usize <= BATCH);
            prop_assert_eq!(b.read as usize, b.rows.len() + b.invalid.len());
        }
        let rows: Vec<u64> = all.invalid().iter().map(|i| i.row).collect();
        prop_assert!(rows.iter().all(|&r| r >= 2));
        prop_assert!(rows.windows(2).all(|w| w[0] < w[1]), "{:?}", rows);
        let total = all.total();
        prop_assert_eq!(total, non_blank_records(&input));

        let skip = (total as f64 * cut).floor() as u64;
        let rest = read(&input, skip);
        prop_assert!(rest.errors.is_empty());
        prop_assert_eq!(rest.total(), total - skip);
        let (all_rows, rest_rows) = (all.rows(), rest.rows());
        prop_assert_eq!(&all_rows[all_rows.len() - rest_rows.len()..], &rest_rows[..]);
        let (all_invalid, rest_invalid) = (all.invalid(), rest.invalid());
        prop_assert_eq!(&all_invalid[all_invalid.len() - rest_invalid.len()..], &rest_invalid[..]);
    }

    /// A well-formed list comes through whole: every row accepted, in order, with its phone
    /// in E.164 and its name and attributes exactly as written (trimmed; an empty cell gives
    /// no attribute).
    #[test]
    fn well_formed_lists_round_trip_names_and_attributes_exactly((text, expected) in sheet()) {
        let got = read(text.as_bytes(), 0);
        prop_assert!(got.errors.is_empty(), "{:?}\n{}", got.errors, text);
        prop_assert!(got.invalid().is_empty(), "{:?}\n{}", got.invalid(), text);
        prop_assert_eq!(got.total(), expected.len() as u64);
        let rows = got.rows();
        prop_assert_eq!(rows.len(), expected.len());
        for (row, want) in rows.iter().zip(&expected) {
            prop_assert_eq!(row.phone.as_str(), want.phone.as_str());
            prop_assert_eq!(&row.name, &want.name, "{}", text);
            prop_assert_eq!(&row.attributes, &want.attributes, "{}", text);
        }
    }
}

#[test]
fn resuming_after_blank_lines_skips_exactly_the_committed_records() {
    let csv = "phone,name\n13800138000,a\n,\n \n13800138001,b\n,,\n13800138002,c\n";
    let all = read(csv.as_bytes(), 0);
    assert_eq!(all.total(), 3);
    let rest = read(csv.as_bytes(), 2);
    assert_eq!(rest.total(), 1);
    assert_eq!(rest.rows()[0].phone.as_str(), "+8613800138002");
}
