//! What each kind of step does: `head` dispatches, one method per kind.
//! Containers (conditions, loops, calls, frames) only say what to run next;
//! `Engine::exec_step` runs it.

use super::{Engine, Next};
use crate::browser::{BrowserError, ElementAction, ReadKind};
use crate::engine::StepError;
use crate::engine::artifacts;
use crate::engine::extract::{self, FinishError, Row};
use crate::engine::report::{CUT_SHORT, CapturedValue};
use crate::failure::FailureClass;
use crate::playbook::{
    Action, CaptureSource, Condition, DownloadParse, ExtractSpec, Pattern, Step, Template,
};
use secrecy::SecretString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Characters of the text a `pattern` did not match that its message
/// shows (after redaction): enough to see what the page had.
const UNMATCHED_TEXT_CHARS: usize = 120;

impl<'r> Engine<'r> {
    /// Runs the step's own part; containers return what to run next.
    pub(super) async fn head(&mut self, step: &'r Step) -> Result<Next<'r>, StepError> {
        let budget = self.timeout(step);
        match &step.action {
            Action::Goto { url } => self.goto(url).await?,
            Action::Click { css } => self.perform(css, ElementAction::Click, budget).await?,
            Action::Fill { css, value } => {
                let value = self.render(value)?;
                self.perform(css, ElementAction::Fill(&value), budget)
                    .await?
            }
            Action::Type { css, value } => {
                let value = self.render(value)?;
                self.perform(css, ElementAction::Type(&value), budget)
                    .await?
            }
            Action::Select { css, option } => {
                let option = self.render(option)?;
                self.perform(css, ElementAction::Select(&option), budget)
                    .await?
            }
            Action::SetChecked { css, checked } => {
                self.perform(css, ElementAction::Check(*checked), budget)
                    .await?
            }
            Action::Upload { css, file } => {
                let file = self.upload_file(file)?;
                self.perform(css, ElementAction::Upload(&file), budget)
                    .await?
            }
            Action::Press { keys, on } => match on {
                Some(css) => {
                    self.perform(css, ElementAction::Press(keys), budget)
                        .await?
                }
                None => self.browser.press(None, keys).await?,
            },
            Action::WaitFor { css } => self.wait_for(css, budget, true).await?,
            Action::WaitGone { css } => self.wait_for(css, budget, false).await?,
            Action::WaitText { text, within } => self.wait_text(text, within, budget).await?,
            Action::WaitUrl { contains } => self.wait_url(contains, budget).await?,
            Action::Capture {
                name,
                source,
                pattern,
                secret,
                required: _,
            } => self.capture(name, source, pattern, *secret, budget).await?,
            Action::Extract(spec) => return self.extract_step(spec, budget).await,
            Action::Assert {
                condition,
                expect,
                message,
            } => self.assert(condition, *expect, message, budget).await?,
            Action::If {
                condition,
                negate,
                then,
                otherwise,
            } => return self.branch(condition, *negate, then, otherwise).await,
            Action::ForEach {
                source,
                alias,
                key,
                body,
            } => {
                let rows = self.loop_rows(source)?;
                return Ok(Next::Loop {
                    rows,
                    alias,
                    key: key.as_ref(),
                    body,
                });
            }
            Action::Call { flow } => {
                let steps = self.playbook.flows.get(flow).map(Vec::as_slice);
                return Ok(Next::Steps(steps.unwrap_or_default(), None));
            }
            Action::Totp { secret, save_as } => self.totp(secret, save_as).await?,
            Action::Download {
                css,
                save_as,
                parse,
            } => self.download_step(css, save_as, *parse, budget).await?,
            Action::Frame { css, body } => {
                let css = self.render(css)?;
                self.wait_present(&css, budget, true).await?;
                self.browser.enter_frame(&css).await?;
                self.frames.push(css);
                return Ok(Next::Frame(body));
            }
            Action::Screenshot { name } => self.screenshot(name).await?,
            Action::Fail { message, class } => return Err(self.declared_failure(message, *class)),
        }
        Ok(Next::Done(None))
    }

    async fn goto(&mut self, url: &Template) -> Result<(), StepError> {
        let url = self.render(url)?;
        self.navigate(&url).await
    }

    /// `wait_for` (`shown`) and `wait_gone`.
    async fn wait_for(
        &mut self,
        css: &Template,
        budget: Duration,
        shown: bool,
    ) -> Result<(), StepError> {
        let css = self.render(css)?;
        self.wait_displayed(&css, budget, shown).await
    }

    async fn wait_text(
        &mut self,
        text: &Template,
        within: &Option<Template>,
        budget: Duration,
    ) -> Result<(), StepError> {
        let text = self.render(text)?;
        let within = within.as_ref().map(|w| self.render(w)).transpose()?;
        if self.poll_text(&text, within.as_deref(), budget).await? {
            return Ok(());
        }
        Err(StepError::WaitTimeout {
            what: format!("text `{text}` to appear"),
            after: budget,
        })
    }

    async fn capture(
        &mut self,
        name: &str,
        source: &CaptureSource,
        pattern: &Option<Pattern>,
        secret: bool,
        budget: Duration,
    ) -> Result<(), StepError> {
        let value = self.read_capture(source, budget).await?;
        let value = match pattern {
            Some(p) => self.apply_pattern(name, p, &value, secret)?,
            None => value,
        };
        let value = CapturedValue::Text(SecretString::from(value));
        self.store(name, value, secret, false).await
    }

    /// What a `capture` step reads, before its `pattern`.
    async fn read_capture(
        &mut self,
        source: &CaptureSource,
        budget: Duration,
    ) -> Result<String, StepError> {
        match source {
            CaptureSource::Element { css, read } => {
                let css = self.render(css)?;
                // Text must be visible to be read as a person would; values and
                // attributes of hidden inputs are legitimately invisible.
                let need_displayed = matches!(read, ReadKind::Text);
                self.read_present(&css, read, need_displayed, budget).await
            }
            CaptureSource::Url => Ok(self.browser.current_url().await?),
        }
    }

    /// The value `pattern` picks out of `text`. No match means the page is
    /// not what the playbook expects (playbook-broken); the message shows
    /// the text through the run's redactor, and never a secret capture's.
    fn apply_pattern(
        &self,
        name: &str,
        pattern: &Pattern,
        text: &str,
        secret: bool,
    ) -> Result<String, StepError> {
        if let Some(value) = pattern.find(text) {
            return Ok(value.to_string());
        }
        let seen = if secret {
            "the text of a secret capture (not shown)".to_string()
        } else {
            self.shown_text(text)
        };
        Err(StepError::Assertion {
            message: format!(
                "capture `{name}`: `pattern` `{}` matches nothing in {seen}",
                pattern.as_str()
            ),
        })
    }

    /// Text a `pattern` did not match, as a message shows it: redacted
    /// first (a cut must not leave half a secret unrecognised), then cut.
    fn shown_text(&self, text: &str) -> String {
        let redacted = self.redactor.redact(text);
        let shown: String = redacted.chars().take(UNMATCHED_TEXT_CHARS).collect();
        let more = if shown.len() < redacted.len() {
            "…"
        } else {
            ""
        };
        format!("`{shown}{more}`")
    }

    /// The branch of a condition step to run (`then` when the condition
    /// holds, unless `negate`).
    async fn branch(
        &mut self,
        condition: &Condition,
        negate: bool,
        then: &'r [Step],
        otherwise: &'r [Step],
    ) -> Result<Next<'r>, StepError> {
        let holds = self.condition(condition).await? != negate;
        let (branch, taken) = if holds {
            (then, crate::trace::Branch::Then)
        } else {
            (otherwise, crate::trace::Branch::Else)
        };
        Ok(Next::Steps(branch, Some(taken)))
    }

    async fn extract_step(
        &mut self,
        spec: &ExtractSpec,
        budget: Duration,
    ) -> Result<Next<'r>, StepError> {
        let (read, cut_short) = self.extract(spec, budget).await?;
        let rows = self.finish_rows(spec, read)?;
        let note = if cut_short {
            format!(
                "{} rows; {CUT_SHORT} (max_pages = {})",
                rows.len(),
                spec.max_pages
            )
        } else {
            format!("{} rows", rows.len())
        };
        self.keep_rows(spec, rows).await?;
        Ok(Next::Done(Some(note)))
    }

    /// Each row's patterns applied and `value` fields rendered. A pattern
    /// that matches nothing fails the step (playbook-broken), naming the
    /// output, row and field, and the text it searched, redacted.
    fn finish_rows(&self, spec: &ExtractSpec, read: Vec<Row>) -> Result<Vec<Row>, StepError> {
        let render = |template: &Template, row: &Row| {
            template.render(|var| match var.root.as_str() {
                "row" => row
                    .get(&var.name)
                    .cloned()
                    .ok_or_else(|| StepError::Input(format!("`{var}` is not a field of this row"))),
                _ => self.resolve(var),
            })
        };
        extract::finish_rows(read, &spec.fields, render).map_err(|e| match e {
            FinishError::Render(e) => e,
            FinishError::Unmatched(u) => StepError::Assertion {
                message: format!(
                    "extract `{}`: row {}, field `{}`: `pattern` `{}` matches nothing in {}",
                    spec.save_as,
                    u.row,
                    u.field,
                    u.pattern,
                    self.shown_text(&u.text)
                ),
            },
        })
    }

    /// The rows of an `extract`, kept under its own name (never a loop
    /// item's: inside `for_each` each item's rows are collected into the
    /// one output). They go after the rows already kept under that name
    /// when the step says `append = true`, or runs inside a loop.
    async fn keep_rows(&mut self, spec: &ExtractSpec, rows: Vec<Row>) -> Result<(), StepError> {
        let collect = spec.append || !self.locals.is_empty();
        let rows = match self.captures.get(&spec.save_as) {
            Some(CapturedValue::Rows(before)) if collect => {
                let mut all = before.clone();
                all.extend(rows);
                all
            }
            _ => rows,
        };
        let name = spec.save_as.clone();
        self.keep(&spec.save_as, name, CapturedValue::Rows(rows), false, false)
            .await
    }

    async fn assert(
        &mut self,
        condition: &Condition,
        expect: bool,
        message: &Option<Template>,
        budget: Duration,
    ) -> Result<(), StepError> {
        let holds = match condition {
            // Presence and text may take a moment to render: wait for
            // them. Absence is checked as the page is now.
            Condition::Present { css, .. } if expect => {
                let css = self.render(css)?;
                self.poll_displayed(&css, budget, true).await?
            }
            Condition::Text { text, within } => {
                let text = self.render(text)?;
                let within = within.as_ref().map(|w| self.render(w)).transpose()?;
                self.poll_text(&text, within.as_deref(), budget).await?
            }
            other => self.condition(other).await?,
        };
        if holds == expect {
            return Ok(());
        }
        let message = match message {
            Some(m) => self.render(m)?,
            None => default_assert_message(condition, expect),
        };
        Err(StepError::Assertion { message })
    }

    async fn totp(&mut self, secret: &str, save_as: &str) -> Result<(), StepError> {
        if self.config.placeholder_secrets {
            let code = CapturedValue::Text(SecretString::from(format!("<capture:{save_as}>")));
            return self.store(save_as, code, true, true).await;
        }
        let seed = self
            .inputs
            .secrets
            .get(secret)
            .ok_or_else(|| StepError::Input(format!("secret `{secret}` was not given")))?;
        let code = crate::secrets::totp_now(seed)
            .map_err(|e| StepError::Input(format!("secret `{secret}`: {e}")))?;
        let code = CapturedValue::Text(SecretString::from(code));
        self.store(save_as, code, true, true).await
    }

    async fn download_step(
        &mut self,
        css: &Template,
        save_as: &str,
        parse: DownloadParse,
        budget: Duration,
    ) -> Result<(), StepError> {
        let (path, value) = self.download(css, parse, budget).await?;
        self.artifacts.push(path);
        self.store(save_as, value, false, false).await
    }

    async fn screenshot(&mut self, name: &str) -> Result<(), StepError> {
        // The picture is of the whole page: take it from the top
        // level (masking every frame), then go back into the frames.
        for _ in 0..self.frames.len() {
            self.browser.leave_frame().await?;
        }
        let png = artifacts::masked_screenshot(self.browser, &self.secret_values).await;
        for css in self.frames.clone() {
            self.browser.enter_frame(&css).await?;
        }
        let png = png.ok_or_else(|| {
            StepError::Browser(BrowserError::Driver {
                call: "screenshot",
                detail: "the page could not be masked (or captured)".into(),
            })
        })?;
        let path = artifacts::write(&self.run_dir, &format!("{name}.png"), &png)
            .map_err(|e| StepError::Download(format!("cannot save screenshot: {e}")))?;
        self.artifacts.push(path);
        Ok(())
    }

    /// A `fail` step's error (a template it cannot render fails instead).
    fn declared_failure(&self, message: &Template, class: FailureClass) -> StepError {
        match self.render(message) {
            Ok(message) => StepError::Declared { message, class },
            Err(e) => e,
        }
    }

    /// The file an `upload` step sends: inside the playbook's folder, never
    /// elsewhere, whatever a parameter says (`/etc/passwd`, `../../x`, a
    /// symlink out). Canonical, so the driver gets a plain absolute path.
    fn upload_file(&self, file: &Template) -> Result<PathBuf, StepError> {
        let requested = self.render(file)?;
        let path = crate::paths::confine(self.playbook.dir(), Path::new(&requested))
            .map_err(|e| StepError::Input(format!("upload file refused: {e}")))?;
        if !path.is_file() {
            return Err(StepError::Input(format!(
                "upload file `{requested}` does not exist in {}",
                self.playbook.dir().display()
            )));
        }
        Ok(path)
    }
}

fn default_assert_message(condition: &Condition, expect: bool) -> String {
    match (condition, expect) {
        (Condition::Present { css, .. }, true) => format!("expected `{css}` to be present"),
        (Condition::Present { css, .. }, false) => format!("expected `{css}` to be absent"),
        (Condition::Text { text, .. }, _) => format!("expected text `{text}`"),
        (Condition::Var(v), _) => format!("expected `{v}`"),
    }
}
