//! The charsets and separators contact lists come in, as office software writes them: UTF-8
//! (with or without a BOM), GBK/GB18030 (Excel's "CSV" on Chinese Windows) and UTF-16 with a
//! BOM (Excel's "Unicode text", tab-separated). The charset is the upload's `charset=`, else
//! its BOM, else UTF-8 when the upload's start is UTF-8, else GB18030 (a superset of GBK and
//! GB2312). Text is decoded as it streams through fixed buffers ([`Decoded`]), so reading a
//! GB18030 list takes no more memory than a UTF-8 one.

use std::io::{self, Read};

use encoding_rs::{Decoder, Encoding, GB18030, GBK, UTF_8, UTF_16BE, UTF_16LE};

crate::text_enum! {
    /// The charset an upload's text is read in.
    pub enum Charset {
        Utf8 = "utf-8",
        Gb18030 = "gb18030",
        Utf16Le = "utf-16le",
        Utf16Be = "utf-16be",
    }
}

impl Charset {
    /// The charset a `charset=` label names (`gbk`, `GB2312`, `utf-16`…), if outcall reads it.
    pub fn from_label(label: &str) -> Option<Self> {
        let label = label.trim().trim_matches('"');
        let encoding = Encoding::for_label(label.as_bytes())?;
        if encoding == UTF_8 {
            Some(Charset::Utf8)
        } else if encoding == GB18030 || encoding == GBK {
            Some(Charset::Gb18030)
        } else if encoding == UTF_16LE {
            Some(Charset::Utf16Le)
        } else if encoding == UTF_16BE {
            Some(Charset::Utf16Be)
        } else {
            None
        }
    }

    /// The charset of an upload whose start is `head` (perhaps cut anywhere): its BOM, else
    /// `declared`, else UTF-16 when every other byte is zero, else UTF-8 when `head` is UTF-8,
    /// else GB18030.
    pub fn sniff(head: &[u8], declared: Option<Charset>) -> Charset {
        if head.starts_with(b"\xEF\xBB\xBF") {
            return Charset::Utf8;
        }
        if head.starts_with(b"\xFF\xFE") {
            return Charset::Utf16Le;
        }
        if head.starts_with(b"\xFE\xFF") {
            return Charset::Utf16Be;
        }
        if let Some(declared) = declared {
            return declared;
        }
        let sample = &head[..head.len().min(4096)];
        let zeros = |parity: usize| {
            sample
                .iter()
                .skip(parity)
                .step_by(2)
                .filter(|&&b| b == 0)
                .count()
        };
        let pairs = sample.len() / 2;
        if pairs >= 4 && zeros(1) * 10 >= pairs * 4 && zeros(0) == 0 {
            return Charset::Utf16Le;
        }
        if pairs >= 4 && zeros(0) * 10 >= pairs * 4 && zeros(1) == 0 {
            return Charset::Utf16Be;
        }
        match std::str::from_utf8(head) {
            Ok(_) => Charset::Utf8,
            // Cut inside a character at the end of the head: UTF-8 so far.
            Err(e) if e.error_len().is_none() => Charset::Utf8,
            Err(_) => Charset::Gb18030,
        }
    }

    fn encoding(self) -> &'static Encoding {
        match self {
            Charset::Utf8 => UTF_8,
            Charset::Gb18030 => GB18030,
            Charset::Utf16Le => UTF_16LE,
            Charset::Utf16Be => UTF_16BE,
        }
    }
}

/// Bytes read from the upload at a time, and UTF-8 bytes decoded at a time.
const BUFFER: usize = 16 * 1024;

/// An upload's text as UTF-8. UTF-8 passes through unchanged (a row that is not UTF-8 is
/// then an invalid row, as before); other charsets are decoded through two fixed buffers, a
/// BOM dropped and a malformed sequence read as U+FFFD.
pub struct Decoded<R> {
    inner: R,
    decoder: Option<Decoder>,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    out: Box<[u8]>,
    out_start: usize,
    out_end: usize,
    finished: bool,
}

impl<R: Read> Decoded<R> {
    pub fn new(inner: R, charset: Charset) -> Self {
        let decoder = (charset != Charset::Utf8).then(|| charset.encoding().new_decoder());
        let size = if decoder.is_some() { BUFFER } else { 0 };
        Self {
            inner,
            decoder,
            input: vec![0; size].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            out: vec![0; size].into_boxed_slice(),
            out_start: 0,
            out_end: 0,
            finished: false,
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else {
            return self.inner.read(buf);
        };
        loop {
            if self.out_start < self.out_end {
                let n = buf.len().min(self.out_end - self.out_start);
                buf[..n].copy_from_slice(&self.out[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            if self.start == self.end && !self.eof {
                self.end = loop {
                    match self.inner.read(&mut self.input) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        other => break other?,
                    }
                };
                self.start = 0;
                self.eof = self.end == 0;
            }
            let (result, read, written, _) =
                decoder.decode_to_utf8(&self.input[self.start..self.end], &mut self.out, self.eof);
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

/// The separator a list's header line uses: tab or semicolon when the line (read as CSV
/// quoting reads it) has more of them than commas, else comma.
pub fn delimiter(header_line: &[u8]) -> u8 {
    let (mut quoted, mut counts) = (false, [0usize; 3]);
    for &b in header_line {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b'\t' if !quoted => counts[1] += 1,
            b';' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    if counts[1] > counts[0] && counts[1] >= counts[2] {
        b'\t'
    } else if counts[2] > counts[0] {
        b';'
    } else {
        b','
    }
}

/// A reader whose first bytes were read ahead, then the rest.
pub type ReadAhead<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// `input` with its first line (up to `max` bytes) read ahead to tell its separator; reading
/// the result gives every byte of `input`, in order.
pub fn with_delimiter<R: Read>(mut input: R, max: usize) -> io::Result<(u8, ReadAhead<R>)> {
    let mut head = Vec::new();
    let mut byte_buf = [0u8; 1024];
    while head.len() < max && !head.contains(&b'\n') {
        let want = byte_buf.len().min(max - head.len());
        let n = match input.read(&mut byte_buf[..want]) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&byte_buf[..n]);
    }
    let sep = delimiter(&head);
    Ok((sep, io::Cursor::new(head).chain(input)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], charset: Charset) -> String {
        let mut out = String::new();
        // A reader that hands one byte at a time: characters cut across reads still decode.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        Decoded::new(Trickle(bytes), charset)
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn each_charset_is_told_from_its_start_and_decoded_in_pieces() {
        let text = "手机号码,客户姓名\r\n13800138000,王芳\r\n";
        let (gbk, _, _) = GBK.encode(text);
        assert_eq!(Charset::sniff(&gbk, None), Charset::Gb18030);
        assert_eq!(decode(&gbk, Charset::Gb18030), text);
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(Charset::sniff(&le, None), Charset::Utf16Le);
        assert_eq!(decode(&le, Charset::Utf16Le), text);
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(
            Charset::sniff(&be, Some(Charset::Gb18030)),
            Charset::Utf16Be
        );
        assert_eq!(decode(&be, Charset::Utf16Be), text);
        let bare: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(Charset::sniff(&bare, None), Charset::Utf16Le);
        assert_eq!(Charset::sniff(text.as_bytes(), None), Charset::Utf8);
        // A UTF-8 head cut inside a character is still UTF-8.
        assert_eq!(Charset::sniff(&text.as_bytes()[..4], None), Charset::Utf8);
        assert_eq!(
            Charset::sniff(text.as_bytes(), Some(Charset::Gb18030)),
            Charset::Gb18030
        );
        for (label, want) in [
            ("GBK", Some(Charset::Gb18030)),
            ("gb2312", Some(Charset::Gb18030)),
            ("\"UTF-8\"", Some(Charset::Utf8)),
            ("utf-16", Some(Charset::Utf16Le)),
            ("latin1", None),
            ("klingon", None),
        ] {
            assert_eq!(Charset::from_label(label), want, "{label}");
        }
    }

    #[test]
    fn the_separator_is_the_one_the_header_uses_most() {
        assert_eq!(delimiter(b"phone,name\n1;2;3;4"), b',');
        assert_eq!(delimiter(b"phone\tname\tplan\r\n"), b'\t');
        assert_eq!(delimiter(b"phone;name;\"a,b,c\"\n"), b';');
        assert_eq!(delimiter(b"phone"), b',');
        let (sep, mut rest) = with_delimiter(&b"a\tb\nc\td\n"[..], 1024).unwrap();
        let mut all = String::new();
        rest.read_to_string(&mut all).unwrap();
        assert_eq!((sep, all.as_str()), (b'\t', "a\tb\nc\td\n"));
    }
}
