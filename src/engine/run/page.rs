//! Waiting on the page: auto-wait for elements, text, URLs, rows and
//! downloads; navigation. Each wait is a [`WaitCondition`] (one struct
//! per kind of wait, below) that [`wait::until`] checks within the step's
//! budget; a check hands the browser the time it may wait in the page.

use super::Engine;
use crate::browser::{Browser, BrowserError, ElementAction, NotDone, PageCondition, ReadKind};
use crate::engine::StepError;
use crate::engine::extract::{CompiledExtract, Row, extract_rows};
use crate::engine::report::CapturedValue;
use crate::engine::wait::{self, Check, WaitCondition, Waited};
use crate::playbook::{DownloadParse, ExtractSpec, Template};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A condition of the page holds.
struct Holds<'a> {
    browser: &'a mut dyn Browser,
    condition: PageCondition<'a>,
}

#[async_trait::async_trait]
impl WaitCondition for Holds<'_> {
    type Ready = ();
    type Seen = ();
    type Error = StepError;

    async fn check(&mut self, within: Duration) -> Result<Check<()>, StepError> {
        let holds = self.browser.wait_until(&self.condition, within).await?;
        Ok(Check::ready_if(holds, ()))
    }
}

/// The element matching `css` read (once there, and displayed if asked).
struct Readable<'a> {
    browser: &'a mut dyn Browser,
    css: &'a str,
    what: &'a ReadKind,
    displayed: bool,
}

#[async_trait::async_trait]
impl WaitCondition for Readable<'_> {
    type Ready = String;
    type Seen = ();
    type Error = StepError;

    async fn check(&mut self, within: Duration) -> Result<Check<String>, StepError> {
        let read = self
            .browser
            .read_when(self.css, self.what, self.displayed, within)
            .await?;
        Ok(match read {
            Some(value) => Check::Ready(value),
            None => Check::Pending(()),
        })
    }
}

/// `action` done on the element matching `css`, once it is actionable; a
/// re-render under it is tried again.
struct Acted<'a, 'o> {
    browser: &'a mut dyn Browser,
    css: &'a str,
    action: &'a ElementAction<'o>,
}

#[async_trait::async_trait]
impl WaitCondition for Acted<'_, '_> {
    type Ready = ();
    type Seen = NotDone;
    type Error = StepError;

    async fn check(&mut self, within: Duration) -> Result<Check<(), NotDone>, StepError> {
        Ok(
            match self.browser.act(self.css, self.action, within).await? {
                None => Check::Ready(()),
                Some(why) => Check::Pending(why),
            },
        )
    }
}

/// The rows of one page of an `extract` are there (or its empty marker)
/// and, after a page change, differ from the previous page's. Seen: whether
/// there were rows.
struct PageRows<'a> {
    browser: &'a mut dyn Browser,
    of: &'a PageOfRows<'a>,
    previous: Option<&'a [Row]>,
    /// What the browser last saw of the rows: the next check waits for
    /// something else.
    signature: Option<String>,
}

#[async_trait::async_trait]
impl WaitCondition for PageRows<'_> {
    type Ready = Vec<Row>;
    type Seen = bool;
    type Error = StepError;

    async fn check(&mut self, within: Duration) -> Result<Check<Vec<Row>, bool>, StepError> {
        let seen = self
            .browser
            .wait_rows(
                self.of.rows_css,
                self.of.empty_css,
                self.signature.as_deref(),
                within,
            )
            .await?;
        if !seen.ready {
            return Ok(Check::Pending(seen.had_rows));
        }
        let html = self.browser.page_source().await?;
        let compiled = self.of.compiled.clone();
        let rows = tokio::task::spawn_blocking(move || extract_rows(&html, &compiled))
            .await
            .map_err(|e| StepError::Input(format!("extraction panicked: {e}")))?;
        let changed = self.previous.is_none_or(|p| *p != rows);
        let empty_shown = match self.of.empty_css {
            Some(e) if rows.is_empty() => self.browser.probe(e).await?.is_some_and(|s| s.displayed),
            _ => false,
        };
        if (!rows.is_empty() && changed) || empty_shown {
            return Ok(Check::Ready(rows));
        }
        // The same rows as before under a new signature: wait for more.
        self.signature = seen.signature;
        Ok(Check::Pending(!rows.is_empty()))
    }
}

/// A new file in `dir` (not one of `before`, not partial) whose size held
/// still across one poll.
struct Downloaded<'a> {
    dir: &'a Path,
    before: &'a [PathBuf],
    last_size: Option<(PathBuf, u64)>,
}

#[async_trait::async_trait]
impl WaitCondition for Downloaded<'_> {
    type Ready = PathBuf;
    type Seen = ();
    type Error = StepError;

    async fn check(&mut self, _within: Duration) -> Result<Check<PathBuf>, StepError> {
        let fresh = list_files(self.dir)
            .into_iter()
            .find(|p| !self.before.contains(p) && !is_partial(p));
        if let Some(p) = fresh {
            let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            if self
                .last_size
                .as_ref()
                .is_some_and(|(lp, ls)| *lp == p && *ls == size)
            {
                return Ok(Check::Ready(p));
            }
            self.last_size = Some((p, size));
        }
        Ok(Check::Pending(()))
    }
}

impl<'r> Engine<'r> {
    /// Waits until `condition` holds; Ok(false) when the budget ran out.
    async fn holds_within(
        &mut self,
        condition: PageCondition<'_>,
        budget: Duration,
    ) -> Result<bool, StepError> {
        let mut holds = Holds {
            browser: &mut *self.browser,
            condition,
        };
        let waited = wait::until(budget, self.config.poll_interval, &mut holds).await?;
        Ok(waited.ready().is_some())
    }

    /// Waits until the element's displayed state equals `want`; Ok(false) on timeout.
    pub(super) async fn poll_displayed(
        &mut self,
        css: &str,
        budget: Duration,
        want: bool,
    ) -> Result<bool, StepError> {
        self.holds_within(PageCondition::Shown { css, shown: want }, budget)
            .await
    }

    pub(super) async fn wait_displayed(
        &mut self,
        css: &str,
        budget: Duration,
        want: bool,
    ) -> Result<(), StepError> {
        if self.poll_displayed(css, budget, want).await? {
            return Ok(());
        }
        let what = if want {
            format!("`{css}` to appear")
        } else {
            format!("`{css}` to disappear")
        };
        Err(StepError::WaitTimeout {
            what,
            after: budget,
        })
    }

    /// Until the element exists (and, with `displayed`, is displayed).
    pub(super) async fn wait_present(
        &mut self,
        css: &str,
        budget: Duration,
        displayed: bool,
    ) -> Result<(), StepError> {
        let condition = PageCondition::Present { css, displayed };
        self.holds_or_times_out(condition, budget, || format!("`{css}` to appear"))
            .await
    }

    /// Until the condition holds, or a wait timeout naming `what` waited.
    async fn holds_or_times_out(
        &mut self,
        condition: PageCondition<'_>,
        budget: Duration,
        what: impl FnOnce() -> String,
    ) -> Result<(), StepError> {
        if self.holds_within(condition, budget).await? {
            return Ok(());
        }
        Err(StepError::WaitTimeout {
            what: what(),
            after: budget,
        })
    }

    /// Reads the element once it exists (and, with `displayed`, is
    /// displayed): one round trip when it is already there.
    pub(super) async fn read_present(
        &mut self,
        css: &str,
        what: &ReadKind,
        displayed: bool,
        budget: Duration,
    ) -> Result<String, StepError> {
        let mut readable = Readable {
            browser: &mut *self.browser,
            css,
            what,
            displayed,
        };
        match wait::until(budget, self.config.poll_interval, &mut readable).await? {
            Waited::Ready(value) => Ok(value),
            Waited::TimedOut(()) => Err(StepError::WaitTimeout {
                what: format!("`{css}` to appear"),
                after: budget,
            }),
        }
    }

    /// Text in the page (or in `within`) as the user sees it (`innerText`).
    pub(super) async fn poll_text(
        &mut self,
        text: &str,
        within: Option<&str>,
        budget: Duration,
    ) -> Result<bool, StepError> {
        self.holds_within(PageCondition::Text { text, within }, budget)
            .await
    }

    /// `wait_url`: until the current URL contains the text.
    pub(super) async fn wait_url(
        &mut self,
        contains: &Template,
        budget: Duration,
    ) -> Result<(), StepError> {
        let want = self.render(contains)?;
        self.holds_or_times_out(PageCondition::UrlContains(&want), budget, || {
            format!("the URL to contain `{want}`")
        })
        .await
    }

    /// Auto-wait, act, and on a re-render retry within the same budget.
    pub(super) async fn perform(
        &mut self,
        css: &Template,
        action: ElementAction<'_>,
        budget: Duration,
    ) -> Result<(), StepError> {
        let css = self.render(css)?;
        let mut acted = Acted {
            browser: &mut *self.browser,
            css: &css,
            action: &action,
        };
        let why = match wait::until(budget, self.config.poll_interval, &mut acted).await? {
            Waited::Ready(()) => return Ok(()),
            // Still re-rendering (or covered) when the budget ran out: that error.
            Waited::TimedOut(NotDone::Refused(e)) => return Err(e.into()),
            Waited::TimedOut(NotDone::Element(None)) => "to appear",
            Waited::TimedOut(NotDone::Element(Some(s))) if !s.displayed => "to become visible",
            Waited::TimedOut(NotDone::Element(Some(_))) => "to become enabled",
        };
        Err(StepError::WaitTimeout {
            what: format!("`{css}` {why}"),
            after: budget,
        })
    }

    /// One page-source fetch per page; pagination by clicking `next`. The
    /// flag is true when `max_pages` stopped it with a usable `next`
    /// control still there: the rows are a cut-short listing.
    pub(super) async fn extract(
        &mut self,
        spec: &ExtractSpec,
        budget: Duration,
    ) -> Result<(Vec<Row>, bool), StepError> {
        let rows_css = self.render(&spec.rows)?;
        let empty_css = spec.empty.as_ref().map(|e| self.render(e)).transpose()?;
        let next_css = spec.next.as_ref().map(|n| self.render(n)).transpose()?;
        let compiled =
            Arc::new(CompiledExtract::new(&rows_css, &spec.fields).map_err(StepError::Input)?);
        let of = PageOfRows {
            rows_css: &rows_css,
            empty_css: empty_css.as_deref(),
            compiled,
        };
        let mut all = Vec::new();
        let mut previous: Option<Vec<Row>> = None;
        for page in 1..=spec.max_pages {
            let Some(rows) = self
                .page_rows(&of, page, previous.as_deref(), budget)
                .await?
            else {
                tracing::debug!(page, "the next-page control changed nothing: last page");
                break;
            };
            all.extend(rows.iter().cloned());
            previous = Some(rows);
            let Some(next) = &next_css else { break };
            let more = matches!(self.browser.probe(next).await?, Some(s) if s.actionable());
            if !more {
                break;
            }
            if page == spec.max_pages {
                return Ok((all, true));
            }
            self.browser.click(next).await?;
        }
        Ok((all, false))
    }

    /// The rows of page `page`; `None` when they never changed after a
    /// `next` click (the last page).
    async fn page_rows(
        &mut self,
        of: &PageOfRows<'_>,
        page: usize,
        previous: Option<&[Row]>,
        budget: Duration,
    ) -> Result<Option<Vec<Row>>, StepError> {
        let mut rows = PageRows {
            browser: &mut *self.browser,
            of,
            previous,
            signature: None,
        };
        match wait::until(budget, self.config.poll_interval, &mut rows).await? {
            Waited::Ready(rows) => Ok(Some(rows)),
            // A "next" control that only looks disabled (CSS,
            // aria-disabled) was clicked on the last page: nothing changed.
            Waited::TimedOut(had_rows) if page > 1 && had_rows => Ok(None),
            Waited::TimedOut(_) => {
                let what = if page == 1 {
                    format!("rows `{}` to appear", of.rows_css)
                } else {
                    format!("page {page} of `{}` to load", of.rows_css)
                };
                Err(StepError::WaitTimeout {
                    what,
                    after: budget,
                })
            }
        }
    }

    /// Clicks `css` and waits for the file it downloads to be complete.
    pub(super) async fn download(
        &mut self,
        css: &Template,
        parse: DownloadParse,
        budget: Duration,
    ) -> Result<(PathBuf, CapturedValue), StepError> {
        let dir = self
            .downloads
            .clone()
            .ok_or_else(|| StepError::Download("no download folder prepared".into()))?;
        let before = list_files(&dir);
        self.perform(css, ElementAction::ClickDownload, budget)
            .await?;
        let mut downloaded = Downloaded {
            dir: &dir,
            before: &before,
            last_size: None,
        };
        // A look into a local folder costs nothing next to a browser call:
        // look often, so a finished file is taken within a few ms.
        let interval = self.config.poll_interval.min(DOWNLOAD_POLL);
        let path = wait::until(budget, interval, &mut downloaded)
            .await?
            .ready()
            .ok_or_else(|| StepError::Download(format!("no file arrived in {budget:?}")))?;
        let value = match parse {
            DownloadParse::None => {
                CapturedValue::Text(SecretString::from(path.display().to_string()))
            }
            DownloadParse::Csv => {
                CapturedValue::Rows(read_csv(&path).map_err(StepError::Download)?)
            }
        };
        Ok((path, value))
    }

    /// Opens `url`. A page the browser could not load (its own error page)
    /// fails here, at once, with the network error the class is decided
    /// by — not 15 s later as a selector that never appeared; a vendor
    /// error page (an HTTP status of 400 or more) is not a success either.
    pub(super) async fn navigate(&mut self, url: &str) -> Result<(), StepError> {
        let failed = |code: String| StepError::Navigation {
            url: url.to_string(),
            code,
        };
        // A URL that does not parse would only come back as the driver's
        // "invalid argument"; a `javascript:` URL is no page to open (the
        // driver's "unsupported protocol", taken for a passing fault). What
        // class each code has is decided in `classify`.
        match url::Url::parse(url) {
            Err(_) => return Err(failed("ERR_INVALID_URL".into())),
            Ok(u) if u.scheme() == "javascript" => {
                return Err(failed("ERR_DISALLOWED_URL_SCHEME".into()));
            }
            Ok(_) => {}
        }
        match self.browser.goto(url).await {
            Err(BrowserError::NetError { code }) => Err(failed(code)),
            Err(e) => Err(e.into()),
            Ok(Some(status)) if status >= 400 => Err(StepError::VendorHttp {
                status,
                url: url.to_string(),
            }),
            Ok(_) => Ok(()),
        }
    }
}

/// Pause between two looks into the download folder.
const DOWNLOAD_POLL: Duration = Duration::from_millis(20);

/// What identifies the rows of one `extract` on each page.
struct PageOfRows<'a> {
    rows_css: &'a str,
    empty_css: Option<&'a str>,
    compiled: Arc<CompiledExtract>,
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn is_partial(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.ends_with(".crdownload")
        || name.ends_with(".tmp")
        || name.starts_with(".com.google.Chrome")
}

fn read_csv(path: &Path) -> Result<Vec<Row>, String> {
    let mut reader =
        csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .clone();
    reader
        .records()
        .map(|rec| {
            let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect())
        })
        .collect()
}
