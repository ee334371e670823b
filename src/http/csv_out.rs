//! What every CSV export shares: `?charset=` (UTF-8 by default, or GB18030 for Excel on
//! Chinese Windows, which reads a CSV in the system's code page), the encoding of each
//! streamed page, and the response's headers.

use axum::{
    body::Body,
    http::header,
    response::{IntoResponse, Response},
};
use futures::{Stream, StreamExt};
use serde::Deserialize;

use crate::codes::Code;

use super::error::{Error, Result};

/// `?charset=` of a CSV export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CharsetParams {
    /// `utf-8` (the default) or `gb18030` (also `gbk`): the text encoding of the file.
    pub charset: Option<String>,
}

/// The encoding an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutCharset {
    Utf8,
    /// GB18030 encodes every Unicode character, so nothing is lost; a GBK reader reads the
    /// Chinese and ASCII text of it as is.
    Gb18030,
}

impl OutCharset {
    /// The charset a request asks for (400 naming `charset` for one outcall does not write).
    pub fn parse(label: Option<&str>) -> Result<Self> {
        match label.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("utf-8") | Some("utf8") => Ok(Self::Utf8),
            Some("gb18030") | Some("gbk") | Some("gb2312") => Ok(Self::Gb18030),
            Some(other) => Err(Error::bad(
                "charset",
                Code::CharsetUnknown
                    .because(format!(
                        "'{}' is not one outcall writes: utf-8 or gb18030",
                        crate::text::excerpt(other, 40)
                    ))
                    .with("allowed", "utf-8, gb18030"),
            )),
        }
    }

    /// One page of UTF-8 CSV in this encoding. Pages end at record ends, and GB18030 carries
    /// no state from one character to the next, so pages are encoded one at a time.
    pub fn encode(self, utf8: Vec<u8>) -> Vec<u8> {
        match self {
            Self::Utf8 => utf8,
            Self::Gb18030 => {
                let text = String::from_utf8_lossy(&utf8);
                encoding_rs::GB18030.encode(&text).0.into_owned()
            }
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Utf8 => "text/csv; charset=utf-8",
            Self::Gb18030 => "text/csv; charset=gb18030",
        }
    }
}

/// A CSV download named `file`, its pages encoded in `charset` as they stream.
pub fn csv_download<S>(file: &str, charset: OutCharset, pages: S) -> Response
where
    S: Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
{
    let body = pages.map(move |page| page.map(|bytes| charset.encode(bytes)));
    (
        [
            (header::CONTENT_TYPE, charset.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::OutCharset;

    #[test]
    fn gb18030_pages_decode_to_the_same_text() {
        let text = "phone,name\n+8613800138000,张伟\n+8613800138001,\u{1F600} 😀\n";
        let bytes = OutCharset::Gb18030.encode(text.as_bytes().to_vec());
        let (back, _, bad) = encoding_rs::GB18030.decode(&bytes);
        assert!(!bad);
        assert_eq!(back, text);
    }
}
