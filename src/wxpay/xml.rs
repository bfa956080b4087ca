//! The v2 XML codec: a flat `<xml>` document of first-level children with text or CDATA.
//!
//! Owns parsing and writing of message bodies and the safety rules for untrusted XML:
//! no DOCTYPE or entity declarations (the 2018 XXE incident), at most 64 KiB, UTF-8 only,
//! no duplicate fields. It knows nothing of what the fields mean.

use std::collections::BTreeMap;

use quick_xml::Reader;
use quick_xml::events::Event;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY: usize = 64 * 1024;

/// The fields of one message, sorted by key in byte order (the signing order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The value of `key` when present and not empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// Inserts only when `value` is `Some` and not empty.
    pub fn insert_opt(&mut self, key: &str, value: Option<impl Into<String>>) {
        if let Some(v) = value.map(Into::into).filter(|v: &String| !v.is_empty()) {
            self.0.insert(key.to_owned(), v);
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Fields {
        Fields(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// Why a body is not an acceptable v2 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("empty body")]
    Empty,
    #[error("body larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error("DOCTYPE and entity declarations are not accepted")]
    Doctype,
    #[error("root element is <{0}>, expected <{1}>")]
    WrongRoot(String, &'static str),
    #[error("field <{0}> appears twice")]
    Duplicate(String),
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// Parses a message whose root is `<xml>`.
pub fn parse(body: &[u8]) -> Result<Fields, XmlError> {
    parse_root(body, "xml")
}

/// Parses a flat document with the given root (`root` for a decrypted refund `req_info`).
pub fn parse_root(body: &[u8], root: &'static str) -> Result<Fields, XmlError> {
    if body.len() > MAX_BODY {
        return Err(XmlError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    // why: some gateways and SDKs prepend a BOM; it is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(XmlError::Empty);
    }
    // why: refuse before the parser sees it; quick-xml does not expand external entities,
    // but a document that declares any is hostile or broken, and never a WeChat message.
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") || text.contains("<!doctype") {
        return Err(XmlError::Doctype);
    }
    Parser::new(text, root).run()
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    root: &'static str,
    fields: BTreeMap<String, String>,
    depth: usize,
    current: Option<(String, String)>,
    seen_root: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, root: &'static str) -> Parser<'a> {
        let mut reader = Reader::from_str(text);
        reader.config_mut().check_end_names = true;
        Parser { reader, root, fields: BTreeMap::new(), depth: 0, current: None, seen_root: false }
    }

    fn run(mut self) -> Result<Fields, XmlError> {
        loop {
            let event = self.reader.read_event().map_err(|e| XmlError::Malformed(e.to_string()))?;
            match event {
                Event::Start(e) => self.open(e.name().0, false)?,
                Event::Empty(e) => self.open(e.name().0, true)?,
                Event::End(_) => self.close()?,
                Event::Text(t) => {
                    self.text(&t.xml10_content())?;
                }
                Event::GeneralRef(r) => {
                    let s = resolve_ref(&r.into_inner())?;
                    self.text(&s)?;
                }
                Event::CData(c) => {
                    self.text(&c.xml10_content())?;
                }
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        if !self.seen_root || self.depth != 0 {
            return Err(XmlError::Malformed("document ends before the root closes".into()));
        }
        Ok(Fields(self.fields))
    }

    fn open(&mut self, name: &str, empty: bool) -> Result<(), XmlError> {
        let name = name.to_owned();
        match self.depth {
            0 if self.seen_root => return Err(XmlError::Malformed("content after the root".into())),
            0 if name != self.root => return Err(XmlError::WrongRoot(name, self.root)),
            0 => self.seen_root = true,
            1 => {
                if self.fields.contains_key(&name) {
                    return Err(XmlError::Duplicate(name));
                }
                if empty {
                    self.fields.insert(name, String::new());
                } else {
                    self.current = Some((name, String::new()));
                }
            }
            // why: v2 has no nested values; deeper elements are ignored, as WeChat does.
            _ => {}
        }
        if !empty {
            self.depth += 1;
        } else if self.depth == 0 {
            // `<xml/>`: an empty message
            self.seen_root = true;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), XmlError> {
        self.depth = self.depth.saturating_sub(1);
        if self.depth == 1 {
            if let Some((name, value)) = self.current.take() {
                self.fields.insert(name, value);
            }
        }
        Ok(())
    }

    fn text(&mut self, s: &str) -> Result<(), XmlError> {
        match self.depth {
            2 => {
                if let Some((_, v)) = self.current.as_mut() {
                    v.push_str(s);
                }
                Ok(())
            }
            0 if !s.trim().is_empty() => Err(XmlError::Malformed("text outside the root".into())),
            _ => Ok(()),
        }
    }
}

/// The five predefined entities and character references; nothing else exists without a DTD.
fn resolve_ref(name: &str) -> Result<String, XmlError> {
    let named = match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c.to_string());
    }
    let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if let Some(dec) = name.strip_prefix('#') {
        dec.parse::<u32>().ok()
    } else {
        None
    };
    code.and_then(char::from_u32)
        .map(|c| c.to_string())
        .ok_or_else(|| XmlError::Malformed(format!("unknown entity &{name};")))
}

/// Writes `<xml>` with one child per field: digits bare, everything else in CDATA.
pub fn to_xml(fields: &Fields) -> String {
    to_xml_root(fields, "xml")
}

pub fn to_xml_root(fields: &Fields, root: &str) -> String {
    let mut out = String::with_capacity(64 + fields.len() * 48);
    out.push('<');
    out.push_str(root);
    out.push('>');
    for (k, v) in fields.iter() {
        out.push('<');
        out.push_str(k);
        out.push('>');
        if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(v);
        } else {
            out.push_str("<![CDATA[");
            // why: "]]>" would end the section early; split it across two sections.
            out.push_str(&v.replace("]]>", "]]]]><![CDATA[>"));
            out.push_str("]]>");
        }
        out.push_str("</");
        out.push_str(k);
        out.push('>');
    }
    out.push_str("</");
    out.push_str(root);
    out.push('>');
    out
}
