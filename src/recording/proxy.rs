//! The recording proxy panelwright runs itself (on `hudsucker`): it
//! terminates TLS with a CA made for this recording and either forwards
//! each request to the vendor and keeps the exchange (record), or answers
//! it from a recording without any network (replay).
//!
//! The CA's key is the key of every certificate it issues, so Chromium
//! trusts them through `--ignore-certificate-errors-spki-list` with that one
//! key's hash: only the Chromium started for this run trusts the CA, and
//! nothing is installed anywhere.

use super::har::{self, Content, Entry, Header, PostData, Request, Response, Timings};
use super::matching::{Matcher, Shape, Unmatched, Volatile};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hudsucker::certificate_authority::RcgenAuthority;
use hudsucker::hyper::{self, Method, StatusCode};
use hudsucker::rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use hudsucker::{Body, HttpContext, HttpHandler, Proxy, RequestOrResponse};
use sha2::Digest;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Requests a browser makes on its own; replay answers them 404 when the
/// recording has none, without calling the run off.
const BROWSER_OWN: &[&str] = &["/favicon.ico"];

/// Chromium's own traffic (autofill, update checks, leak checks, …) is
/// turned off where a flag can; the [`Scope`] keeps the rest out.
const QUIET_CHROMIUM: &[&str] = &[
    "--disable-features=AutofillServerCommunication,PasswordLeakDetection,Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-extensions",
    "--disable-search-engine-choice-screen",
    "--no-default-browser-check",
    "--disable-quic",
];

/// Which requests belong to the run: those to the vendor's host, to a host
/// an in-scope response named (a redirect, a link, a script's origin), or
/// made by an in-scope page (its `Referer`). The rest is the browser's own
/// traffic: neither forwarded nor recorded, answered 502 at once.
#[derive(Clone, Default)]
struct Scope {
    hosts: Arc<Mutex<std::collections::BTreeSet<String>>>,
}

fn host_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
}

impl Scope {
    fn new(urls: impl IntoIterator<Item = String>) -> Scope {
        let scope = Scope::default();
        for u in urls {
            scope.add_url(&u);
        }
        scope
    }

    fn add_url(&self, url: &str) {
        if let Some(h) = host_of(url) {
            self.hosts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(h);
        }
    }

    fn admits(&self, parts: &hyper::http::request::Parts) -> bool {
        let hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let host = parts.uri.host().map(|h| h.to_ascii_lowercase());
        if host.is_some_and(|h| hosts.contains(&h)) {
            return true;
        }
        parts
            .headers
            .get(hyper::header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(host_of)
            .is_some_and(|h| hosts.contains(&h))
    }

    /// Hosts an in-scope response names join the scope.
    fn learn(&self, response: &Response) {
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let re = RE.get_or_init(|| {
            regex::Regex::new(r#"https?://[A-Za-z0-9.\-]+(?::[0-9]+)?"#).expect("url regex")
        });
        if !response.redirect_url.is_empty() {
            self.add_url(&response.redirect_url);
        }
        if response.content.encoding.is_none()
            && let Some(text) = &response.content.text
        {
            for m in re.find_iter(text) {
                self.add_url(m.as_str());
            }
        }
    }
}

fn out_of_scope() -> hyper::Response<Body> {
    plain(
        StatusCode::BAD_GATEWAY,
        "panelwright: not part of the recorded run (the browser's own traffic)".to_string(),
    )
}

/// A CA for one recording: its issuer and the base64 SHA-256 of its key's
/// SubjectPublicKeyInfo (what Chromium's SPKI list wants).
fn recording_ca() -> Result<(RcgenAuthority, String), String> {
    let key = KeyPair::generate().map_err(|e| format!("CA key: {e}"))?;
    let spki = base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(key.subject_public_key_info()));
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "panelwright recording CA (one session)");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let issuer = Issuer::new(params, key);
    let provider = hudsucker::rustls::crypto::aws_lc_rs::default_provider();
    Ok((RcgenAuthority::new(issuer, 100, provider), spki))
}

/// The HTTPS client towards the vendor: the system's roots plus `extra`
/// (e.g. a self-signed console's certificate).
fn upstream_connector(
    extra: &[Vec<u8>],
) -> Result<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, String>
{
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    for der in extra {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| format!("upstream CA: {e}"))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build())
}

/// Certificates (DER) from a PEM file's text.
pub fn certificates_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<Vec<u8>> = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the PEM text".into());
    }
    Ok(certs)
}

fn now_iso() -> String {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + d).to_string()
}

fn headers_of(map: &hyper::HeaderMap) -> Vec<Header> {
    map.iter()
        .map(|(n, v)| Header {
            name: n.as_str().to_string(),
            value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
        })
        .collect()
}

fn version_text(v: hyper::Version) -> String {
    format!("{v:?}")
}

/// The whole body; an error (a reset connection, a client gone) is an
/// error, never an empty body passed on as complete.
async fn collect(body: Body) -> Result<Bytes, String> {
    body.collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())
}

/// A request seen, waiting for its response.
#[derive(Clone)]
struct Pending {
    /// A HEAD request: its response has no body but a real length.
    head: bool,
    started: String,
    at: Instant,
    request: Request,
}

#[derive(Clone)]
struct RecordHandler {
    log: Arc<Mutex<Vec<Entry>>>,
    scope: Scope,
    pending: Option<Pending>,
}

fn har_request(parts: &hyper::http::request::Parts, body: &[u8]) -> Request {
    let url = parts.uri.to_string();
    let headers: Vec<Header> = headers_of(&parts.headers)
        .into_iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("proxy-connection"))
        .collect();
    let mime = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let post_data = (!body.is_empty() || mime.is_some()).then(|| {
        let (text, encoding) = har::encode_body(body);
        PostData {
            mime_type: mime.unwrap_or_default(),
            text,
            encoding,
        }
    });
    Request {
        method: parts.method.to_string(),
        query_string: har::query_pairs(&url),
        url,
        http_version: version_text(parts.version),
        cookies: Vec::new(),
        headers,
        post_data,
        headers_size: -1,
        body_size: body.len() as i64,
    }
}

fn har_response(
    status: StatusCode,
    version: String,
    headers: Vec<Header>,
    body: &[u8],
) -> Response {
    let mime = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
        .map(|h| h.value.clone())
        .unwrap_or_default();
    let redirect_url = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("location"))
        .map(|h| h.value.clone())
        .unwrap_or_default();
    let (text, encoding) = har::encode_body(body);
    Response {
        status: status.as_u16(),
        status_text: status.canonical_reason().unwrap_or_default().to_string(),
        http_version: version,
        cookies: Vec::new(),
        headers,
        content: Content {
            size: body.len() as i64,
            mime_type: mime,
            text: Some(text),
            encoding,
        },
        redirect_url,
        headers_size: -1,
        body_size: body.len() as i64,
    }
}

impl RecordHandler {
    fn finish(&mut self, response: Response) {
        self.scope.learn(&response);
        if let Some(p) = self.pending.take() {
            let ms = p.at.elapsed().as_secs_f64() * 1000.0;
            let entry = Entry {
                started_date_time: p.started,
                time: ms,
                request: p.request,
                response,
                cache: Default::default(),
                timings: Timings {
                    send: 0.0,
                    wait: ms,
                    receive: 0.0,
                },
            };
            self.log
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(entry);
        }
    }
}

/// Rebuilds a response around a body now fully read (and decoded): the
/// length is known, so no chunking and no content encoding.
fn with_body(mut parts: hyper::http::response::Parts, body: Bytes) -> hyper::Response<Body> {
    parts.headers.remove(hyper::header::TRANSFER_ENCODING);
    parts.headers.remove(hyper::header::CONTENT_ENCODING);
    parts.headers.insert(
        hyper::header::CONTENT_LENGTH,
        hyper::header::HeaderValue::from(body.len()),
    );
    hyper::Response::from_parts(parts, Body::from(Full::new(body)))
}

impl HttpHandler for RecordHandler {
    async fn handle_request(
        &mut self,
        _ctx: &HttpContext,
        req: hyper::Request<Body>,
    ) -> RequestOrResponse {
        if req.method() == Method::CONNECT {
            return req.into();
        }
        let (parts, body) = req.into_parts();
        if !self.scope.admits(&parts) {
            return out_of_scope().into();
        }
        let Ok(bytes) = collect(body).await else {
            // The browser gave up sending it: forward nothing.
            return plain(
                StatusCode::BAD_REQUEST,
                "panelwright recorder: the request body did not arrive whole".into(),
            )
            .into();
        };
        let head = parts.method == Method::HEAD;
        self.pending = Some(Pending {
            head,
            started: now_iso(),
            at: Instant::now(),
            request: har_request(&parts, &bytes),
        });
        hyper::Request::from_parts(parts, Body::from(Full::new(bytes))).into()
    }

    async fn handle_response(
        &mut self,
        _ctx: &HttpContext,
        res: hyper::Response<Body>,
    ) -> hyper::Response<Body> {
        let res = match hudsucker::decode_response(res) {
            Ok(r) => r,
            Err(e) => {
                let body = format!("panelwright recorder: cannot decode the response: {e}");
                let r = plain(StatusCode::BAD_GATEWAY, body);
                return self.record_made(r).await;
            }
        };
        let (parts, body) = res.into_parts();
        let bytes = match collect(body).await {
            Ok(b) => b,
            Err(e) => {
                let r = plain(
                    StatusCode::BAD_GATEWAY,
                    format!("panelwright recorder: the vendor's response broke off: {e}"),
                );
                return self.record_made(r).await;
            }
        };
        let bodiless = self.pending.as_ref().is_some_and(|p| p.head)
            || parts.status == StatusCode::NO_CONTENT
            || parts.status == StatusCode::NOT_MODIFIED;
        let response = har_response(
            parts.status,
            version_text(parts.version),
            headers_of(&parts.headers)
                .into_iter()
                .filter(|h| {
                    !h.name.eq_ignore_ascii_case("content-encoding")
                        && !h.name.eq_ignore_ascii_case("transfer-encoding")
                })
                .collect(),
            &bytes,
        );
        self.finish(response);
        if bodiless {
            // Its Content-Length (if any) describes a body never sent: keep it.
            return hyper::Response::from_parts(parts, Body::empty());
        }
        with_body(parts, bytes)
    }

    async fn handle_error(
        &mut self,
        _ctx: &HttpContext,
        err: hyper_util::client::legacy::Error,
    ) -> hyper::Response<Body> {
        let mut detail = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            detail.push_str(&format!(": {s}"));
            source = s.source();
        }
        let r = plain(
            StatusCode::BAD_GATEWAY,
            format!("panelwright recorder: the vendor could not be reached: {detail}"),
        );
        self.record_made(r).await
    }
}

impl RecordHandler {
    /// Records a response the proxy made itself, and returns it.
    async fn record_made(&mut self, r: hyper::Response<Body>) -> hyper::Response<Body> {
        let (parts, body) = r.into_parts();
        let bytes = collect(body).await.unwrap_or_default();
        let response = har_response(
            parts.status,
            version_text(parts.version),
            headers_of(&parts.headers),
            &bytes,
        );
        self.finish(response);
        with_body(parts, bytes)
    }
}

fn plain(status: StatusCode, text: String) -> hyper::Response<Body> {
    hyper::Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header("x-panelwright-proxy", "1")
        .body(Body::from(text))
        .expect("a valid response")
}

/// What a replay saw.
#[derive(Debug, Default, Clone)]
pub struct ReplayLog {
    /// Requests no recorded exchange answered, in order.
    pub unmatched: Vec<Unmatched>,
    /// Requests answered from the recording.
    pub answered: usize,
    /// Requests to hosts outside the recording (the browser's own traffic),
    /// answered 502 without counting as unmatched.
    pub outside_scope: usize,
    /// How many times each recorded entry was served.
    pub served: Vec<usize>,
}

struct ReplayState {
    scope: Scope,
    entries: Vec<Entry>,
    matcher: Matcher,
    volatile: Volatile,
    log: ReplayLog,
}

#[derive(Clone)]
struct ReplayHandler {
    state: Arc<Mutex<ReplayState>>,
}

fn recorded_response(e: &Entry) -> hyper::Response<Body> {
    let r = &e.response;
    let body = r.body().unwrap_or_default();
    let mut b =
        hyper::Response::builder().status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK));
    // HEAD, 204 and 304 carry no body: their recorded length stays as it was.
    let bodiless = e.request.method.eq_ignore_ascii_case("HEAD") || matches!(r.status, 204 | 304);
    if bodiless {
        for h in &r.headers {
            if !matches!(
                h.name.to_ascii_lowercase().as_str(),
                "transfer-encoding" | "content-encoding" | "connection" | "keep-alive"
            ) {
                b = b.header(h.name.as_str(), h.value.as_str());
            }
        }
        return b.body(Body::empty()).unwrap_or_else(|e| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("panelwright replay: the recorded response is not valid: {e}"),
            )
        });
    }
    for h in &r.headers {
        let n = h.name.to_ascii_lowercase();
        if matches!(
            n.as_str(),
            "content-length"
                | "transfer-encoding"
                | "content-encoding"
                | "connection"
                | "keep-alive"
        ) {
            continue;
        }
        b = b.header(h.name.as_str(), h.value.as_str());
    }
    b.header(hyper::header::CONTENT_LENGTH, body.len())
        .body(Body::from(Full::new(Bytes::from(body))))
        .unwrap_or_else(|e| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("panelwright replay: the recorded response is not valid: {e}"),
            )
        })
}

impl HttpHandler for ReplayHandler {
    async fn handle_request(
        &mut self,
        _ctx: &HttpContext,
        req: hyper::Request<Body>,
    ) -> RequestOrResponse {
        if req.method() == Method::CONNECT {
            return req.into();
        }
        let (parts, body) = req.into_parts();
        let Ok(bytes) = collect(body).await else {
            return plain(
                StatusCode::BAD_REQUEST,
                "panelwright replay: the request body did not arrive whole".into(),
            )
            .into();
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !state.scope.admits(&parts) {
            state.log.outside_scope += 1;
            return out_of_scope().into();
        }
        let mime = parts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let url = parts.uri.to_string();
        let shape = Shape::new(parts.method.as_str(), &url, &mime, &bytes, &state.volatile);
        match state.matcher.answer(&shape) {
            Ok(i) => {
                state.log.answered += 1;
                state.log.served = state.matcher.served().to_vec();
                recorded_response(&state.entries[i]).into()
            }
            Err(unmatched) => {
                let own = BROWSER_OWN.contains(&parts.uri.path());
                if !own {
                    state.log.unmatched.push(unmatched.clone());
                }
                plain(
                    StatusCode::NOT_FOUND,
                    format!("panelwright replay: {unmatched}"),
                )
                .into()
            }
        }
    }
}

/// A running proxy.
pub struct RunningProxy {
    addr: SocketAddr,
    spki: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    record_log: Option<Arc<Mutex<Vec<Entry>>>>,
    replay: Option<Arc<Mutex<ReplayState>>>,
}

impl RunningProxy {
    /// A proxy that forwards to the vendor and keeps every exchange;
    /// `upstream_roots` are extra trusted certificates (DER) for the vendor.
    /// `base_url` is the vendor's: its host is in scope from the start.
    pub async fn record(
        base_url: &str,
        upstream_roots: &[Vec<u8>],
    ) -> Result<RunningProxy, String> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler = RecordHandler {
            log: log.clone(),
            scope: Scope::new([base_url.to_string()]),
            pending: None,
        };
        let mut p = Self::start(handler, upstream_roots).await?;
        p.record_log = Some(log);
        Ok(p)
    }

    /// A proxy that answers from `entries` and reaches nothing.
    pub async fn replay(
        base_url: &str,
        entries: Vec<Entry>,
        volatile: Volatile,
    ) -> Result<RunningProxy, String> {
        let matcher = Matcher::new(&entries, &volatile);
        let scope = Scope::new(
            std::iter::once(base_url.to_string())
                .chain(entries.iter().map(|e| e.request.url.clone())),
        );
        let state = Arc::new(Mutex::new(ReplayState {
            scope,
            entries,
            matcher,
            volatile,
            log: ReplayLog::default(),
        }));
        let handler = ReplayHandler {
            state: state.clone(),
        };
        let mut p = Self::start(handler, &[]).await?;
        p.replay = Some(state);
        Ok(p)
    }

    async fn start<H: HttpHandler>(
        handler: H,
        upstream_roots: &[Vec<u8>],
    ) -> Result<RunningProxy, String> {
        let (ca, spki) = recording_ca()?;
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| format!("the recording proxy cannot listen: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("the recording proxy has no address: {e}"))?;
        let (tx, rx) = oneshot::channel::<()>();
        let proxy = Proxy::builder()
            .with_listener(listener)
            .with_ca(ca)
            .with_http_connector(upstream_connector(upstream_roots)?)
            .with_http_handler(handler)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .build()
            .map_err(|e| format!("the recording proxy: {e}"))?;
        let task = tokio::spawn(async move {
            if let Err(e) = proxy.start().await {
                tracing::warn!("the recording proxy stopped: {e}");
            }
        });
        Ok(RunningProxy {
            addr,
            spki,
            stop: Some(tx),
            task: Some(task),
            record_log: None,
            replay: None,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Chromium's arguments to go through this proxy (loopback included)
    /// and to trust its certificates, in this session only.
    pub fn chromium_args(&self) -> Vec<String> {
        let mut args = vec![
            format!("--proxy-server=http://{}", self.addr),
            "--proxy-bypass-list=<-loopback>".to_string(),
            format!("--ignore-certificate-errors-spki-list={}", self.spki),
        ];
        args.extend(QUIET_CHROMIUM.iter().map(|a| a.to_string()));
        args
    }

    /// The exchanges recorded so far (record mode), in order.
    pub fn recorded(&self) -> Vec<Entry> {
        self.record_log
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    /// What replay saw so far (replay mode).
    pub fn replay_log(&self) -> ReplayLog {
        self.replay
            .as_ref()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).log.clone())
            .unwrap_or_default()
    }

    /// Stops accepting and waits (bounded) for the proxy to end.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(std::time::Duration::from_secs(3), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
