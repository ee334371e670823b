//! The bounds an upload is read within, enforced while it streams: a CSV row is read into
//! buffers of a fixed size (a row past them is skipped to its end and becomes an invalid row
//! naming the bound), and a JSON document is watched byte by byte for nesting and for any one
//! contact's size before the parser buffers it. Memory per reader is therefore a few fixed
//! buffers, whatever the upload holds.

use crate::codes::Code;
use std::{
    cell::Cell,
    io::{self, Read},
    rc::Rc,
};

use csv_core::ReadRecordResult;

/// Columns a CSV row (the header included) may have. A data row past it is an invalid row; a
/// header past it refuses the upload.
pub const MAX_COLUMNS: usize = 200;
/// Bytes one CSV field may hold (attribute values are capped at 1,000 characters, which is at
/// most 4,000 bytes of UTF-8).
pub const MAX_FIELD_BYTES: usize = 4 * 1024;
/// Bytes one CSV row may hold, its fields' contents together. The reader's buffer is this size.
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// How deep a JSON upload may nest (a contact's attributes are at depth 4).
pub const MAX_JSON_DEPTH: usize = 32;
/// Bytes one contact of a JSON upload may take (and any one value outside the list).
pub const MAX_CONTACT_BYTES: usize = 64 * 1024;

/// Why a row or a document went past a bound; its `Display` names the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// A CSV row with more than [`MAX_COLUMNS`] columns.
    Columns,
    /// A CSV row longer than [`MAX_ROW_BYTES`].
    RowBytes,
    /// A CSV field (its column, counted from 1) longer than [`MAX_FIELD_BYTES`].
    FieldBytes(usize),
    /// JSON nested deeper than [`MAX_JSON_DEPTH`].
    Depth,
    /// One JSON contact (or value) longer than [`MAX_CONTACT_BYTES`].
    ContactBytes,
}

impl Cut {
    /// The invalid row a record past this bound is: "row " and the bound, with its code.
    pub fn row_error(self) -> super::import::RowError {
        use super::import::RowError;
        let e = RowError::new(
            match self {
                Cut::Columns => Code::TooManyColumns,
                Cut::RowBytes => Code::RowTooLong,
                Cut::FieldBytes(_) => Code::FieldTooLong,
                Cut::Depth => Code::NestingTooDeep,
                Cut::ContactBytes => Code::ContactTooLarge,
            },
            format!("row {self}"),
        );
        match self {
            Cut::Columns => e.param("max", MAX_COLUMNS),
            Cut::RowBytes => e.param("max_bytes", MAX_ROW_BYTES),
            Cut::FieldBytes(c) => e.param("column", c).param("max_bytes", MAX_FIELD_BYTES),
            Cut::Depth => e.param("max", MAX_JSON_DEPTH),
            Cut::ContactBytes => e.param("max_bytes", MAX_CONTACT_BYTES),
        }
    }
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Cut::Columns => write!(f, "has more than {MAX_COLUMNS} columns (the limit)"),
            Cut::RowBytes => write!(f, "is longer than {MAX_ROW_BYTES} bytes (the row limit)"),
            Cut::FieldBytes(c) => write!(
                f,
                "has column {c} longer than {MAX_FIELD_BYTES} bytes (the field limit)"
            ),
            Cut::Depth => write!(f, "nests deeper than {MAX_JSON_DEPTH} levels (the limit)"),
            Cut::ContactBytes => write!(
                f,
                "has a contact longer than {MAX_CONTACT_BYTES} bytes (the limit)"
            ),
        }
    }
}

/// CSV records read within the bounds: each is its fields, or the bound it went past (its
/// bytes skipped, never kept). Quoting, CRLF, a BOM and blank lines are read as the `csv`
/// crate reads them (it is the same `csv_core` state machine underneath).
pub struct Records<R> {
    input: R,
    core: csv_core::Reader,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    eof: bool,
    done: bool,
    out: Box<[u8]>,
    ends: Box<[usize]>,
}

impl<R: Read> Records<R> {
    pub fn new(input: R) -> Self {
        Self::with_delimiter(input, b',')
    }

    /// Records separated by `delimiter` (a comma, tab or semicolon).
    pub fn with_delimiter(input: R, delimiter: u8) -> Self {
        Self {
            input,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
            done: false,
            out: vec![0; MAX_ROW_BYTES].into_boxed_slice(),
            ends: vec![0; MAX_COLUMNS].into_boxed_slice(),
        }
    }

    /// The next record: `None` at the end, `Some(Err(cut))` for a record past a bound (read to
    /// its end and dropped). An error only if the input fails to read.
    #[allow(clippy::type_complexity)]
    pub fn next_record(&mut self) -> io::Result<Option<Result<Vec<&[u8]>, Cut>>> {
        if self.done {
            return Ok(None);
        }
        let (mut nout, mut nend, mut cut) = (0, 0, None);
        loop {
            if self.pos == self.len && !self.eof {
                self.len = loop {
                    match self.input.read(&mut self.buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other?,
                    }
                };
                self.pos = 0;
                self.eof = self.len == 0;
            }
            let (res, nin, o, e) = self.core.read_record(
                &self.buf[self.pos..self.len],
                &mut self.out[nout..],
                &mut self.ends[nend..],
            );
            self.pos += nin;
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty => {}
                // The row goes on past a buffer: note the bound and keep reading to its end
                // into the same buffers, which now hold nothing anyone will look at.
                ReadRecordResult::OutputFull => {
                    cut.get_or_insert(Cut::RowBytes);
                    nout = 0;
                }
                ReadRecordResult::OutputEndsFull => {
                    cut.get_or_insert(Cut::Columns);
                    nend = 0;
                }
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
                ReadRecordResult::Record => {
                    if let Some(cut) = cut {
                        return Ok(Some(Err(cut)));
                    }
                    let mut fields = Vec::with_capacity(nend);
                    let mut start = 0;
                    for (i, &end) in self.ends[..nend].iter().enumerate() {
                        if end - start > MAX_FIELD_BYTES {
                            return Ok(Some(Err(Cut::FieldBytes(i + 1))));
                        }
                        fields.push(&self.out[start..end]);
                        start = end;
                    }
                    return Ok(Some(Ok(fields)));
                }
            }
        }
    }
}

/// Whether the start of a CSV upload (`head`, perhaps cut anywhere) already shows its header
/// past a bound: the message names the bound. A header not yet complete is not judged.
pub fn check_csv_head(head: &[u8]) -> Result<(), String> {
    match Records::new(head).next_record() {
        Ok(Some(Err(cut @ (Cut::Columns | Cut::RowBytes)))) => Err(format!("the header row {cut}")),
        _ => Ok(()),
    }
}

/// Watches a JSON document byte by byte: nesting and the size of each value in the contact
/// list (and of each key and value around it).
#[derive(Debug, Default, Clone)]
pub struct JsonWatch {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Bytes since the last structural character at depth 2 or less.
    run: usize,
}

impl JsonWatch {
    /// Takes one byte; the bound it goes past, if any.
    pub fn feed(&mut self, byte: u8) -> Result<(), Cut> {
        self.run += 1;
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth > MAX_JSON_DEPTH {
                        return Err(Cut::Depth);
                    }
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
            if matches!(byte, b'{' | b'[' | b'}' | b']' | b',' | b':') && self.depth <= 2 {
                self.run = 0;
            }
        }
        if self.run > MAX_CONTACT_BYTES {
            return Err(Cut::ContactBytes);
        }
        Ok(())
    }
}

/// Whether a JSON upload's start (or all of it) already goes past a bound.
pub fn check_json_head(head: &[u8]) -> Result<(), String> {
    let mut watch = JsonWatch::default();
    for &b in head {
        watch.feed(b).map_err(|cut| format!("the upload {cut}"))?;
    }
    Ok(())
}

/// A reader that passes bytes through a [`JsonWatch`] and fails at the first bound passed,
/// before the parser above it can buffer more. `cut` (shared with whoever reads the parser's
/// error) says which bound it was.
pub struct Watched<R> {
    inner: R,
    watch: JsonWatch,
    cut: Rc<Cell<Option<Cut>>>,
}

impl<R: Read> Watched<R> {
    pub fn new(inner: R) -> (Self, Rc<Cell<Option<Cut>>>) {
        let cut = Rc::new(Cell::new(None));
        let watched = Self {
            inner,
            watch: JsonWatch::default(),
            cut: cut.clone(),
        };
        (watched, cut)
    }
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(cut) = self.cut.get() {
            return Err(io::Error::other(cut.to_string()));
        }
        let n = self.inner.read(out)?;
        for (i, &b) in out[..n].iter().enumerate() {
            if let Err(cut) = self.watch.feed(b) {
                self.cut.set(Some(cut));
                if i == 0 {
                    return Err(io::Error::other(cut.to_string()));
                }
                // Hand on what came before; the next read fails.
                return Ok(i);
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Vec<Result<Vec<String>, Cut>> {
        let mut records = Records::new(text);
        let mut seen = vec![];
        while let Some(r) = records.next_record().unwrap() {
            seen.push(r.map(|f| {
                f.iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect()
            }));
        }
        seen
    }

    #[test]
    fn rows_past_a_bound_are_cut_and_reading_goes_on() {
        let mut text = b"a,b\r\n\"x,\"\"y\"\"\",z\n\n".to_vec();
        text.extend(vec![b'q'; MAX_ROW_BYTES + 10]);
        text.extend(b"\nc,d\n");
        text.extend(",".repeat(MAX_COLUMNS + 5).as_bytes());
        text.extend(b"\n");
        text.extend(vec![b'f'; MAX_FIELD_BYTES + 1]);
        text.extend(b",g\ne,f");
        let rows = all(&text);
        let want = |v: &[&str]| Ok(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            rows,
            vec![
                want(&["a", "b"]),
                want(&["x,\"y\"", "z"]),
                Err(Cut::RowBytes),
                want(&["c", "d"]),
                Err(Cut::Columns),
                Err(Cut::FieldBytes(1)),
                want(&["e", "f"]),
            ]
        );
    }

    #[test]
    fn a_header_past_the_column_bound_is_seen_in_the_head() {
        let head = format!("phone{}", ",c".repeat(MAX_COLUMNS + 1));
        assert!(check_csv_head(head.as_bytes()).unwrap_err().contains("200"));
        assert!(check_csv_head(b"phone,name\n1").is_ok());
        assert!(check_csv_head(b"phone,na").is_ok());
    }

    #[test]
    fn json_nesting_and_contact_size_are_watched() {
        let deep = format!("{{\"contacts\": [{}", "[".repeat(40));
        assert!(
            check_json_head(deep.as_bytes())
                .unwrap_err()
                .contains("deeper")
        );
        let big = format!(
            "{{\"contacts\": [{{\"phone\": \"{}\"}}]}}",
            "1".repeat(MAX_CONTACT_BYTES)
        );
        assert!(check_json_head(big.as_bytes()).is_err());
        let many = format!(
            "{{\"contacts\": [{}{{\"phone\": \"1\"}}]}}",
            "{\"phone\": \"13800138000\", \"name\": \"[{,\\\"\"},".repeat(10_000)
        );
        assert!(check_json_head(many.as_bytes()).is_ok());
    }
}
