//! Reads a screenshot back as text with Debian's `tesseract-ocr`, to prove
//! what a picture does (and does not) show. A missing `tesseract` is a test
//! failure naming the fix (`bash webdriver/install.sh`), never a skip.

use std::path::Path;
use std::process::Command;

/// The text tesseract reads in the PNG at `png`.
pub fn text_of(png: &Path) -> String {
    let out = Command::new("tesseract")
        .arg(png)
        .arg("stdout")
        .output()
        .unwrap_or_else(|e| {
            panic!("tesseract could not be started ({e}): run `bash webdriver/install.sh`")
        });
    assert!(
        out.status.success(),
        "tesseract failed on {}: {}",
        png.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `text` as letters and digits only, upper case: OCR's spacing, line
/// breaks and punctuation are not compared.
pub fn normalized(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}
