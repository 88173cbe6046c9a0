//! Where an item of an import file is: `agreements[2].unit_price` → line and
//! column, in TOML (through `toml`'s spanned document) or JSON (a small scan
//! of text serde_json has already accepted), so an import error can name the
//! line an operator has to fix.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of an item path: a key, or an index into an array.
#[derive(Debug, PartialEq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `agreements[2].unit_price` → Key(agreements), Index(2), Key(unit_price).
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(i) = index.parse() {
                out.push(Segment::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// An import file's name and text, kept so that an error can name the line
/// of an item — located only then: locating every item up front re-read
/// the file for each one (2,000 agreement lines took 26 s).
pub(super) struct FileText {
    pub file: String,
    pub text: String,
    pub json: bool,
}

impl FileText {
    /// `file:line:col: path`, or `file: path` when the path is not found.
    pub(super) fn at(&self, path: &str) -> String {
        let source = if self.json {
            Source::Json(&self.text)
        } else {
            Source::Toml(&self.text)
        };
        match source.locate(path) {
            Some((line, column)) => format!("{}:{line}:{column}: {path}", self.file),
            None => format!("{}: {path}", self.file),
        }
    }
}

/// The text of an import file, and its format.
pub(super) enum Source<'a> {
    Toml(&'a str),
    Json(&'a str),
}

impl Source<'_> {
    /// Line and column of the deepest part of `path` the file has (the
    /// field's value, or its item when the field is missing).
    pub(super) fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let segments = segments(path);
        let (text, offset) = match self {
            Source::Toml(text) => (*text, toml_offset(text, &segments)?),
            Source::Json(text) => (*text, json_offset(text, &segments)?),
        };
        Some(line_col(text, offset))
    }
}

fn toml_offset(text: &str, path: &[Segment<'_>]) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut found: Option<usize> = None;
    let mut here: Option<&Spanned<DeValue<'_>>> = None;
    let root = doc.get_ref();
    for segment in path {
        let next = match (here.map(Spanned::get_ref), segment) {
            (None, Segment::Key(k)) => root.get(*k),
            (Some(DeValue::Table(t)), Segment::Key(k)) => t.get(*k),
            (Some(DeValue::Array(a)), Segment::Index(i)) => a.get(*i),
            _ => None,
        };
        let Some(next) = next else { break };
        found = Some(next.span().start);
        here = Some(next);
    }
    found
}

/// A scan of JSON text that serde_json accepted: the offset of the value at
/// `path`, or of the deepest part of it present.
fn json_offset(text: &str, path: &[Segment<'_>]) -> Option<usize> {
    let mut scan = JsonScan {
        bytes: text.as_bytes(),
        at: 0,
    };
    scan.skip_ws();
    let mut found = None;
    scan.find(path, &mut found)?;
    found.or(Some(scan.at))
}

struct JsonScan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonScan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string at the cursor; its raw text (escapes left as written).
    fn string(&mut self) -> Option<&str> {
        self.skip_ws();
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.at + 1;
        self.at = start;
        while let Some(b) = self.peek() {
            match b {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return std::str::from_utf8(&self.bytes[start..self.at - 1]).ok();
                }
                _ => self.at += 1,
            }
        }
        None
    }

    /// Skips one value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip_value()?;
                    if self.eat(b',').is_none() {
                        return self.eat(b'}');
                    }
                }
            }
            b'[' => {
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_value()?;
                    if self.eat(b',').is_none() {
                        return self.eat(b']');
                    }
                }
            }
            _ => {
                while self.peek().is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                }) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }

    /// With the cursor at a value: descends along `path`, recording in
    /// `found` where each part present starts.
    fn find(&mut self, path: &[Segment<'_>], found: &mut Option<usize>) -> Option<()> {
        let Some((first, rest)) = path.split_first() else {
            return Some(());
        };
        self.skip_ws();
        match (self.peek()?, first) {
            (b'{', Segment::Key(key)) => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    let name = self.string()?.to_string();
                    self.eat(b':')?;
                    self.skip_ws();
                    if name == *key {
                        *found = Some(self.at);
                        return self.find(rest, found);
                    }
                    self.skip_value()?;
                    if self.eat(b',').is_none() {
                        return Some(());
                    }
                }
            }
            (b'[', Segment::Index(index)) => {
                self.at += 1;
                let mut i = 0;
                loop {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        return Some(());
                    }
                    if i == *index {
                        *found = Some(self.at);
                        return self.find(rest, found);
                    }
                    self.skip_value()?;
                    if self.eat(b',').is_none() {
                        return Some(());
                    }
                    i += 1;
                }
            }
            _ => Some(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_keys_and_indexes() {
        assert_eq!(
            segments("agreements[2].unit_price"),
            vec![
                Segment::Key("agreements"),
                Segment::Index(2),
                Segment::Key("unit_price")
            ]
        );
        assert_eq!(
            segments("a[0][1]"),
            vec![Segment::Key("a"), Segment::Index(0), Segment::Index(1)]
        );
    }

    #[test]
    fn toml_fields_and_items_are_found() {
        let text = "[[agreements]]\ncompany = \"a\"\n\n[[agreements]]\ncompany = \"b\"\nquantity = \"-1\"\n";
        let source = Source::Toml(text);
        assert_eq!(source.locate("agreements[1].quantity"), Some((6, 12)));
        assert_eq!(source.locate("agreements[0].company"), Some((2, 11)));
        // A missing field: the item it is missing from.
        let (line, _) = source.locate("agreements[1].unit_price").unwrap();
        assert!((4..=5).contains(&line), "{line}");
        assert_eq!(source.locate("nothing"), None);
    }

    #[test]
    fn json_fields_and_items_are_found() {
        let text = "{\n  \"companies\": [{\"x\": [1, {\"y\": 2}]}],\n  \"agreements\": [\n    {\"company\": \"a\"},\n    {\"company\": \"b\",\n     \"quantity\": \"-1\"}\n  ]\n}\n";
        let source = Source::Json(text);
        assert_eq!(source.locate("agreements[1].quantity"), Some((6, 18)));
        assert_eq!(source.locate("agreements[0]"), Some((4, 5)));
        assert_eq!(source.locate("agreements[1].missing"), Some((5, 5)));
        assert_eq!(source.locate("companies[0].x[1].y"), Some((2, 33)));
    }
}
