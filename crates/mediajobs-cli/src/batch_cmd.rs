//! `run`, `resume`, `status --journal` and `webhooks serve`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use mediajobs::batch::{BatchLine, parse_batch};
use mediajobs::journal::{JobState, Journal, JournalError, SqliteJournal, settings};
use mediajobs::providers::{Lookup, env_lookup, provider_from, verifier_from};
use mediajobs::runner::{Progress, ProgressFn, RunOptions, RunReport, Runner};
use mediajobs::webhook_wiring::{DeferredVerifier, ForwardCounters, forward_to_scheduler};
use mediajobs::webhooks::{WebhookReceiver, WebhookServer, route_url};
use mediajobs::{Clock, Provider, ProviderApi, Secret};
use serde_json::json;

use crate::args::{BatchOptions, ResumeArgs, RunArgs, ServeArgs, StatusArgs};
use crate::exit::{CliError, JOB_FAILED, UNREACHABLE};
use crate::jobs_cmd::Env;

fn journal_error(e: JournalError) -> CliError {
    CliError::usage(e.to_string())
}

pub async fn run(args: RunArgs, json_out: bool, quiet: bool) -> Result<u8, CliError> {
    let text = if args.batch == "-" {
        use tokio::io::AsyncReadExt;
        let mut t = String::new();
        tokio::io::stdin()
            .read_to_string(&mut t)
            .await
            .map_err(|e| CliError::usage(format!("reading the batch from stdin: {e}")))?;
        t
    } else {
        tokio::fs::read_to_string(&args.batch)
            .await
            .map_err(|e| CliError::usage(format!("reading the batch file {}: {e}", args.batch)))?
    };
    let parsed = parse_batch(&text);
    for e in &parsed.errors {
        errln!("{}: line {}: {}", args.batch, e.line, e.message);
    }
    if !parsed.errors.is_empty() && args.strict {
        return Err(CliError::usage(format!(
            "{}: {} malformed line(s); nothing was submitted (--strict)",
            args.batch,
            parsed.errors.len()
        )));
    }
    if parsed.lines.is_empty() {
        let why = if parsed.errors.is_empty() {
            "no jobs in the batch file".to_string()
        } else {
            format!("none of its {} line(s) is a valid job", parsed.errors.len())
        };
        return Err(CliError::usage(format!("{}: {why}", args.batch)));
    }
    let env = Env::load().await?;
    if args.strict {
        refuse_invalid_requests(&env, &args.batch, &parsed.lines)?;
    }
    let journal = open_journal(&args.options, env.clock.clone(), false)?;
    let providers: Vec<Provider> = {
        let mut p: Vec<Provider> = parsed.lines.iter().map(|l| l.provider).collect();
        p.extend(journal_providers(&journal)?);
        p.sort();
        p.dedup();
        p
    };
    let session = Session::start(
        &env,
        journal,
        &providers,
        &args.options,
        false,
        json_out,
        quiet,
    )
    .await?;
    let report = session.runner.run(&parsed.lines).await?;
    let skipped = parsed.errors.len();
    session.finish(report, json_out, skipped).await
}

/// `--strict`: every request checked as its adapter would check it before sending (fields,
/// types, documented limits, the VideoGen tool), and the batch refused whole, before the
/// journal is opened, if any is wrong.
fn refuse_invalid_requests(env: &Env, batch: &str, lines: &[BatchLine]) -> Result<(), CliError> {
    let mut apis: BTreeMap<Provider, Arc<dyn ProviderApi>> = BTreeMap::new();
    let mut invalid = 0;
    for line in lines {
        let api = match apis.get(&line.provider) {
            Some(api) => api.clone(),
            None => {
                let api = env.api(line.provider)?;
                apis.insert(line.provider, api.clone());
                api
            }
        };
        if let Err(e) = api.validate(&line.submit_request()) {
            errln!("{batch}: line {}: {e}", line.line);
            invalid += 1;
        }
    }
    if invalid > 0 {
        return Err(CliError::usage(format!(
            "{batch}: {invalid} line(s) with a request the provider would refuse; nothing was submitted (--strict)"
        )));
    }
    Ok(())
}

pub async fn resume(args: ResumeArgs, json_out: bool, quiet: bool) -> Result<u8, CliError> {
    let env = Env::load().await?;
    let journal = open_journal(&args.options, env.clock.clone(), true)?;
    let providers = journal_providers(&journal)?;
    let session = Session::start(
        &env,
        journal,
        &providers,
        &args.options,
        args.resubmit_uncertain,
        json_out,
        quiet,
    )
    .await?;
    let report = session.runner.resume().await?;
    session.finish(report, json_out, 0).await
}

fn open_journal(
    options: &BatchOptions,
    clock: Arc<dyn Clock>,
    existing: bool,
) -> Result<Arc<SqliteJournal>, CliError> {
    let j = if existing {
        SqliteJournal::open_existing(&options.journal, clock)
    } else {
        SqliteJournal::open(&options.journal, clock)
    };
    Ok(Arc::new(j.map_err(journal_error)?))
}

fn journal_providers(journal: &SqliteJournal) -> Result<Vec<Provider>, CliError> {
    let mut p: Vec<Provider> = journal
        .jobs()
        .map_err(journal_error)?
        .into_iter()
        .filter(|j| !j.state.is_terminal() || !j.missing_downloads().is_empty())
        .map(|j| j.provider)
        .collect();
    p.sort();
    p.dedup();
    Ok(p)
}

/// A run in progress: the runner, the webhook receiver if any, the progress display.
/// (`demo` drives one too, configured from the in-process simulator.)
pub(crate) struct Session {
    pub(crate) runner: Arc<Runner>,
    pub(crate) webhooks: Option<(WebhookServer, WebhookReceiver, Arc<ForwardCounters>)>,
    pub(crate) display: Arc<Display>,
    /// The VideoGen endpoint registered for this process's own address, removed at the end.
    pub(crate) ephemeral_endpoint: Option<EphemeralEndpoint>,
}

impl Session {
    async fn start(
        env: &Env,
        journal: Arc<SqliteJournal>,
        providers: &[Provider],
        options: &BatchOptions,
        resubmit_uncertain: bool,
        json_out: bool,
        quiet: bool,
    ) -> Result<Session, CliError> {
        Session::start_with(
            env,
            &env_lookup,
            journal,
            providers,
            options,
            resubmit_uncertain,
            json_out,
            quiet,
        )
        .await
    }

    /// [`Session::start`] with keys, base URLs and webhook secrets read from `lookup` instead
    /// of the process environment.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start_with(
        env: &Env,
        lookup: Lookup<'_>,
        journal: Arc<SqliteJournal>,
        providers: &[Provider],
        options: &BatchOptions,
        resubmit_uncertain: bool,
        json_out: bool,
        quiet: bool,
    ) -> Result<Session, CliError> {
        let mut apis: Vec<Arc<dyn ProviderApi>> = Vec::new();
        for p in providers {
            apis.push(provider_from(
                *p,
                lookup,
                env.clock.clone(),
                env.transport.clone(),
            )?);
        }
        let mut run_options = RunOptions {
            download_dir: options.download.clone(),
            resubmit_uncertain,
            deadline: Duration::from_secs(options.deadline),
            // Before the webhook endpoint is registered: that call is this invocation's too.
            baseline: Some(journal.counters().map_err(journal_error)?),
            ..RunOptions::default()
        };
        if providers.contains(&Provider::VideoGen) {
            if let Some(stale) = EphemeralEndpoint::left_behind(env, lookup, &journal)? {
                stale.remove(&journal).await;
            }
        }
        let display = Arc::new(Display::new(json_out, quiet));
        let mut receiver_parts = None;
        let mut ephemeral_endpoint = None;
        if let Some(addr) = options.webhooks_addr {
            let (receiver, rx, server, urls, ephemeral) = start_webhooks(
                env,
                lookup,
                &journal,
                providers,
                addr,
                options.webhook_url.as_deref(),
            )
            .await?;
            run_options.webhook_urls = urls;
            run_options.scheduler.safety_poll =
                Some(Duration::from_secs(options.safety_poll.max(1)));
            receiver_parts = Some((receiver, rx, server));
            ephemeral_endpoint = ephemeral;
        }
        let progress: ProgressFn = {
            let display = display.clone();
            Arc::new(move |p: &Progress| display.show(p))
        };
        let runner = Arc::new(Runner::new(
            journal,
            apis,
            env.transport.clone(),
            env.clock.clone(),
            run_options,
            progress,
        ));
        let webhooks = match receiver_parts {
            Some((receiver, rx, server)) => {
                let counters = Arc::new(ForwardCounters::default());
                forward_to_scheduler(rx, runner.scheduler().clone(), counters.clone(), |_| {});
                Some((server, receiver, counters))
            }
            None => None,
        };
        Ok(Session {
            runner,
            webhooks,
            display,
            ephemeral_endpoint,
        })
    }

    async fn finish(
        self,
        mut report: RunReport,
        json_out: bool,
        skipped: usize,
    ) -> Result<u8, CliError> {
        self.display.clear();
        let mut webhooks = None;
        if let Some((server, receiver, counters)) = self.webhooks {
            webhooks = Some(json!({
                "receiver": receiver.metrics(),
                "jobs_ended_by_webhook": counters.stats().ended_by_webhook,
                "forwarded": counters.stats(),
            }));
            let _ = server.shutdown().await;
        }
        if let Some(endpoint) = self.ephemeral_endpoint {
            endpoint.remove(self.runner.journal()).await;
            // This invocation's call too, made after the runner's count.
            report.summary.api_calls += 1;
        }
        let mut summary =
            serde_json::to_value(&report).map_err(|e| CliError::usage(format!("summary: {e}")))?;
        if let Some(w) = webhooks {
            summary["webhooks"] = w;
        }
        summary["malformed_lines"] = json!(skipped);
        if json_out {
            outln!("{summary}");
        } else {
            print_human(&report, skipped);
        }
        let s = &report.summary;
        Ok(if !report.unreachable.is_empty() {
            UNREACHABLE
        } else if s.jobs > 0 && report.all_succeeded() {
            0
        } else {
            JOB_FAILED
        })
    }
}

async fn start_webhooks(
    env: &Env,
    lookup: Lookup<'_>,
    journal: &Arc<SqliteJournal>,
    providers: &[Provider],
    addr: std::net::SocketAddr,
    public_url: Option<&str>,
) -> Result<
    (
        WebhookReceiver,
        tokio::sync::mpsc::Receiver<mediajobs::webhooks::ReceivedEvent>,
        WebhookServer,
        BTreeMap<Provider, String>,
        Option<EphemeralEndpoint>,
    ),
    CliError,
> {
    let mut builder = WebhookReceiver::builder(env.clock.clone());
    let mut deferred_videogen = None;
    for p in providers {
        let from_env = verifier_from(*p, lookup)?;
        // VideoGen delivers only to endpoints registered with it: advertising our own bound
        // address means registering it (its secret comes with the endpoint, once the URL is
        // known). A secret from the environment belongs to an endpoint the user manages, and
        // is used as is where the user gives its URL (--webhook-url).
        if *p == Provider::VideoGen && (from_env.is_none() || public_url.is_none()) {
            let d = Arc::new(DeferredVerifier::new(Provider::VideoGen));
            builder = builder.verifier(d.clone());
            deferred_videogen = Some(d);
            continue;
        }
        match from_env {
            Some(v) => builder = builder.verifier(v),
            None => errln!(
                "warning: {}_WEBHOOK_SECRET is not set: {p} webhooks cannot be verified, so polling alone settles {p} jobs",
                p.env_prefix()
            ),
        }
    }
    let (receiver, rx) = builder.build();
    let server = receiver
        .serve(addr)
        .await
        .map_err(|e| CliError::usage(format!("--webhooks-addr {addr}: {e}")))?;
    let base = public_url
        .map(str::to_string)
        .unwrap_or_else(|| server.url().to_string());
    let urls: BTreeMap<Provider, String> = providers
        .iter()
        .map(|p| (*p, route_url(&base, *p)))
        .collect();
    let mut ephemeral_endpoint = None;
    if let Some(deferred) = deferred_videogen {
        let url = route_url(&base, Provider::VideoGen);
        let mut verifier = match lookup(ENV_VIDEOGEN_WEBHOOK_SECRET) {
            Some(list) => Some(
                mediajobs::videogen::VideoGenWebhookVerifier::from_secret_list(&list)
                    .map_err(|e| CliError::usage(e.to_string()))?,
            ),
            None => None,
        };
        match videogen_endpoint_secret(env, lookup, journal, &url).await {
            Ok((secret, created)) => {
                verifier = Some(
                    match verifier {
                        Some(v) => v.add_secret(secret),
                        None => mediajobs::videogen::VideoGenWebhookVerifier::new(secret),
                    }
                    .map_err(|e| CliError::usage(e.to_string()))?,
                );
                // An endpoint for an address that lives as long as this process is removed
                // when the run ends: VideoGen would deliver to a dead port for ever after.
                if let (None, Some(id)) = (public_url, created) {
                    let client = videogen_client(env, lookup)?;
                    journal
                        .set_setting(settings::VIDEOGEN_WEBHOOK_EPHEMERAL, "true")
                        .map_err(journal_error)?;
                    ephemeral_endpoint = Some(EphemeralEndpoint { client, id });
                }
            }
            // Not fatal: polling settles every job; the runner reports an unreachable
            // provider or a refused key on its own.
            Err(e) => errln!(
                "warning: could not register a VideoGen webhook endpoint for {url}: {}; polling settles videogen jobs",
                e.message
            ),
        }
        if let Some(v) = verifier {
            deferred.set(Arc::new(v));
        }
    }
    Ok((receiver, rx, server, urls, ephemeral_endpoint))
}

/// `VIDEOGEN_WEBHOOK_SECRET`.
const ENV_VIDEOGEN_WEBHOOK_SECRET: &str = "VIDEOGEN_WEBHOOK_SECRET";

/// A VideoGen endpoint this invocation registered for its own bound address.
pub(crate) struct EphemeralEndpoint {
    client: mediajobs::videogen::VideoGenClient,
    id: String,
}

impl EphemeralEndpoint {
    /// Deletes the endpoint and forgets it in the journal (a later run may be given the same
    /// port by chance, and must not take the deleted endpoint's secret for its own).
    async fn remove(self, journal: &SqliteJournal) {
        let result = self.client.delete_webhook_endpoint(&self.id).await;
        let _ = journal.add_api_calls(Provider::VideoGen, mediajobs::core::Operation::Endpoints, 1);
        match result {
            // Gone already (deleted by hand, or by a run that died just after): as good.
            Err(e) if !e.is_not_found() => errln!(
                "warning: could not remove the VideoGen webhook endpoint {}: {}; delete it with the VideoGen API",
                self.id,
                e.to_string_with_hint()
            ),
            _ => {
                let _ = journal.set_setting(VIDEOGEN_WEBHOOK_URL_SETTING, "");
                let _ = journal.set_setting(settings::VIDEOGEN_WEBHOOK_EPHEMERAL, "");
            }
        }
    }

    /// The endpoint a process that died left behind for its own, now dead, address (the
    /// journal says so), to be removed before anything else.
    fn left_behind(
        env: &Env,
        lookup: Lookup<'_>,
        journal: &SqliteJournal,
    ) -> Result<Option<EphemeralEndpoint>, CliError> {
        let ephemeral = journal
            .setting(settings::VIDEOGEN_WEBHOOK_EPHEMERAL)
            .map_err(journal_error)?;
        let id = journal
            .setting(settings::VIDEOGEN_WEBHOOK_ENDPOINT_ID)
            .map_err(journal_error)?;
        let (Some("true"), Some(id)) = (ephemeral.as_deref(), id.filter(|i| !i.is_empty())) else {
            return Ok(None);
        };
        let client = videogen_client(env, lookup)?;
        Ok(Some(EphemeralEndpoint { client, id }))
    }
}

/// The VideoGen client for webhook endpoint management, configured like the run's adapter.
fn videogen_client(
    env: &Env,
    lookup: Lookup<'_>,
) -> Result<mediajobs::videogen::VideoGenClient, CliError> {
    Ok(mediajobs::videogen::VideoGenClient::builder()
        .from_lookup(lookup)
        .clock(env.clock.clone())
        .transport(env.transport.clone())
        .build()?)
}

/// The journal setting holding the URL of the VideoGen endpoint whose secret it keeps.
const VIDEOGEN_WEBHOOK_URL_SETTING: &str = "videogen.webhook.url";

/// The signing secret of a VideoGen endpoint for `url`: the one the journal kept for it, or a
/// new endpoint's (VideoGen shows a secret once, so it is kept in the journal at once), with
/// the id of the endpoint when this call created it.
async fn videogen_endpoint_secret(
    env: &Env,
    lookup: Lookup<'_>,
    journal: &SqliteJournal,
    url: &str,
) -> Result<(Secret, Option<String>), CliError> {
    let url_setting = VIDEOGEN_WEBHOOK_URL_SETTING;
    if let (Some(secret), Some(saved_url)) = (
        journal
            .secret(settings::VIDEOGEN_WEBHOOK_SECRET)
            .map_err(journal_error)?,
        journal.setting(url_setting).map_err(journal_error)?,
    ) {
        if saved_url == url {
            return Ok((secret, None));
        }
    }
    let client = videogen_client(env, lookup)?;
    let created = client
        .create_webhook_endpoint(
            url,
            &[
                "tool_execution.succeeded",
                "tool_execution.failed",
                "tool_execution.cancelled",
            ],
            Some("mediajobs"),
        )
        .await?;
    journal
        .set_secret(settings::VIDEOGEN_WEBHOOK_SECRET, &created.signing_secret)
        .map_err(journal_error)?;
    journal
        .set_setting(settings::VIDEOGEN_WEBHOOK_ENDPOINT_ID, &created.endpoint_id)
        .map_err(journal_error)?;
    journal
        .set_setting(url_setting, url)
        .map_err(journal_error)?;
    let _ = journal.add_api_calls(Provider::VideoGen, mediajobs::core::Operation::Endpoints, 1);
    Ok((created.signing_secret, Some(created.endpoint_id)))
}

fn print_human(report: &RunReport, skipped: usize) {
    let s = &report.summary;
    let mut failed = String::new();
    if !s.failed_by_code.is_empty() {
        let parts: Vec<String> = s
            .failed_by_code
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        failed = format!(" ({})", parts.join(", "));
    }
    outln!(
        "jobs {}: succeeded {}, failed {}{}, cancelled {}, uncertain {}, still open {}",
        s.jobs,
        s.succeeded,
        s.failed,
        failed,
        s.cancelled,
        s.uncertain,
        s.pending + s.queued + s.running
    );
    outln!(
        "api calls {}, downloaded {} bytes, 429s received {}",
        s.api_calls,
        s.downloaded_bytes,
        report.scheduler.rate_limited()
    );
    if skipped > 0 {
        outln!("malformed lines skipped: {skipped}");
    }
    for u in &report.unreachable {
        outln!("unreachable: {u}");
    }
}

pub fn status_journal(args: &StatusArgs, json_out: bool) -> Result<u8, CliError> {
    let Some(path) = &args.journal else {
        return Err(CliError::usage("--journal is required"));
    };
    if args.provider.is_some() || args.id.is_some() {
        return Err(CliError::usage("status --journal takes no provider or id"));
    }
    let journal = SqliteJournal::open_read_only(path).map_err(journal_error)?;
    let report = journal.status_report().map_err(journal_error)?;
    if json_out {
        outln!(
            "{}",
            serde_json::to_string(&report).map_err(|e| CliError::usage(e.to_string()))?
        );
    } else {
        let s = journal.summary().map_err(journal_error)?;
        outln!(
            "{}: jobs {}, succeeded {}, failed {}, cancelled {}, uncertain {}, pending {}, queued {}, running {}; api calls {}, downloaded {} bytes",
            path.display(),
            s.jobs,
            s.succeeded,
            s.failed,
            s.cancelled,
            s.uncertain,
            s.pending,
            s.queued,
            s.running,
            s.api_calls,
            s.downloaded_bytes
        );
        for item in journal.jobs().map_err(journal_error)? {
            outln!(
                "  {:<20} {:<9} {:<10} {}",
                item.key,
                item.provider.as_str(),
                item.state.as_str(),
                item.remote_id.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(0)
}

pub async fn webhooks_serve(args: ServeArgs) -> Result<u8, CliError> {
    let env = Env::load().await?;
    let mut builder = WebhookReceiver::builder(env.clock.clone());
    let mut any = false;
    for p in Provider::ALL {
        if let Some(v) = verifier_from(p, &env_lookup)? {
            builder = builder.verifier(v);
            any = true;
        }
    }
    if !any {
        errln!(
            "warning: no VIBEPEAK_/VIDEOGEN_/VIDIKING_WEBHOOK_SECRET set: every delivery will be refused with 401"
        );
    }
    let (receiver, mut rx) = builder.build();
    // The address is the user's input (in use, not ours to bind): exit 2, as for
    // `run --webhooks-addr`.
    let server = receiver
        .serve(args.addr)
        .await
        .map_err(|e| CliError::usage(format!("--addr {}: could not listen: {e}", args.addr)))?;
    outln!("{}", server.readiness().to_line());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let printer = tokio::spawn(async move {
        let stdout = std::io::stdout();
        let _ = mediajobs::webhooks::print_accepted(&mut rx, stdout).await;
    });
    crate::sim_cmd::shutdown_signal().await;
    let _ = server.shutdown().await;
    drop(receiver);
    let _ = tokio::time::timeout(Duration::from_secs(2), printer).await;
    Ok(0)
}

/// Progress bars on a terminal, plain lines on stderr otherwise.
/// The bars: the multi-bar, one bar per provider, and the overall bar.
type Bars = (
    MultiProgress,
    Mutex<BTreeMap<Provider, ProgressBar>>,
    ProgressBar,
);

pub(crate) struct Display {
    bars: Option<Bars>,
    plain: bool,
}

impl Display {
    fn new(json_out: bool, quiet: bool) -> Display {
        let tty = std::io::stderr().is_terminal();
        if tty && !json_out && !quiet {
            let multi = MultiProgress::new();
            let overall = multi.add(ProgressBar::new(0));
            if let Ok(style) =
                ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg} eta {eta}")
            {
                overall.set_style(style.progress_chars("=> "));
            }
            overall.set_prefix("all");
            Display {
                bars: Some((multi, Mutex::new(BTreeMap::new()), overall)),
                plain: false,
            }
        } else {
            Display {
                bars: None,
                plain: !quiet,
            }
        }
    }

    fn show(&self, p: &Progress) {
        if let Some((multi, bars, overall)) = &self.bars {
            match p {
                Progress::Planned { totals } => {
                    let Ok(mut bars) = bars.lock() else { return };
                    let mut all = 0;
                    for (provider, n) in totals {
                        all += n;
                        let bar = multi.insert_before(overall, ProgressBar::new(*n));
                        if let Ok(style) =
                            ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {msg}")
                        {
                            bar.set_style(style.progress_chars("=> "));
                        }
                        bar.set_prefix(provider.as_str());
                        bars.insert(*provider, bar);
                    }
                    overall.set_length(all);
                }
                Progress::Finished {
                    provider, state, ..
                } => {
                    if let Ok(bars) = bars.lock() {
                        if let Some(bar) = bars.get(provider) {
                            bar.inc(1);
                            if *state != JobState::Succeeded {
                                bar.set_message(format!("last: {state}"));
                            }
                        }
                    }
                    overall.inc(1);
                }
                Progress::Uncertain { key, reason, .. } => {
                    multi.suspend(|| errln!("uncertain {key}: {reason}"));
                }
                Progress::Problem { key, message } => {
                    multi.suspend(|| {
                        errln!(
                            "{}{message}",
                            key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default()
                        )
                    });
                }
                _ => {}
            }
            return;
        }
        if !self.plain {
            return;
        }
        match p {
            Progress::Planned { totals } => {
                let parts: Vec<String> = totals.iter().map(|(p, n)| format!("{p} {n}")).collect();
                if parts.is_empty() {
                    errln!("jobs to do: none (every job in the journal is settled)");
                } else {
                    errln!("jobs to do: {}", parts.join(", "));
                }
            }
            Progress::Submitted { key, job } => errln!("submitted {key} as {job}"),
            Progress::Finished {
                key,
                provider,
                state,
            } => errln!("{state} {key} ({provider})"),
            Progress::Uncertain { key, reason, .. } => errln!("uncertain {key}: {reason}"),
            Progress::Downloaded { key, path, bytes } => {
                errln!("saved {key} to {path} ({bytes} bytes)")
            }
            Progress::Problem { key, message } => errln!(
                "problem {}{message}",
                key.as_ref().map(|k| format!("{k}: ")).unwrap_or_default()
            ),
        }
    }

    pub(crate) fn clear(&self) {
        if let Some((multi, bars, overall)) = &self.bars {
            if let Ok(bars) = bars.lock() {
                for bar in bars.values() {
                    bar.finish();
                }
            }
            overall.finish();
            let _ = multi.clear();
        }
    }
}
