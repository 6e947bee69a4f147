//! The single-job verbs: submit, status, wait, cancel, list.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mediajobs::core::ListQuery;
use mediajobs::providers::{env_lookup, provider_from};
use mediajobs::scheduler::{SchedulerConfig, WaitError, WatchOptions};
use mediajobs::transport::{ReqwestTransport, Transport};
use mediajobs::{
    Client, Clock, Error, JobId, Provider, ProviderApi, Snapshot, Status, SubmitRequest,
};
use serde_json::{Value, json};

use crate::args::{JobArgs, ListArgs, StatusArgs, SubmitArgs, WaitArgs};
use crate::exit::{CliError, JOB_FAILED, USAGE};

/// The shared pieces every verb needs: the clock and one HTTP transport.
pub struct Env {
    pub clock: Arc<dyn Clock>,
    pub transport: Arc<dyn Transport>,
}

impl Env {
    pub async fn load() -> Result<Env, CliError> {
        let clock = mediajobs::clock_from_env().await?;
        let transport = ReqwestTransport::with_defaults()
            .map_err(|e| CliError::usage(format!("could not set up HTTP: {}", e.message)))?;
        Ok(Env {
            clock,
            transport: Arc::new(transport),
        })
    }

    pub fn api(&self, provider: Provider) -> Result<Arc<dyn ProviderApi>, CliError> {
        Ok(provider_from(
            provider,
            &env_lookup,
            self.clock.clone(),
            self.transport.clone(),
        )?)
    }
}

pub fn parse_provider(s: &str) -> Result<Provider, CliError> {
    s.parse::<Provider>()
        .map_err(|e| CliError::usage(e.to_string()))
}

/// A snapshot as the CLI prints it in `--json`.
pub fn snapshot_json(s: &Snapshot) -> Value {
    json!({
        "provider": s.job.provider,
        "id": s.job.id,
        "status": s.status.status,
        "raw_status": s.status.raw,
        "recognized": s.status.recognized,
        "progress": s.progress,
        "queue_position": s.queue_position,
        "estimated_completion": s.estimated_completion,
        "retry_after_seconds": s.retry_after.map(|d| d.as_secs()),
        "attempt": s.attempt,
        "tool": s.tool,
        "outputs": s.outputs,
        "error": s.error,
        "raw": s.raw,
    })
}

fn human(s: &Snapshot) -> String {
    let mut line = format!("{} {} ({})", s.job, s.status.status, s.status.raw);
    if !s.status.recognized {
        line.push_str(" [status not recognized: still waiting]");
    }
    if let Some(p) = s.progress {
        line.push_str(&format!(" {p:.0}%"));
    }
    if let Some(q) = s.queue_position {
        line.push_str(&format!(" queue position {q}"));
    }
    if let Some(eta) = s.estimated_completion {
        line.push_str(&format!(" eta {}", eta.to_rfc3339()));
    }
    if let Some(e) = &s.error {
        line.push_str(&format!(
            " error {}: {}",
            e.code.as_deref().unwrap_or("-"),
            e.message
        ));
    }
    for o in &s.outputs {
        if let Some(url) = &o.url {
            line.push_str(&format!("\n  output {url}"));
        }
    }
    line
}

fn print_snapshot(s: &Snapshot, json_out: bool) {
    if json_out {
        outln!("{}", snapshot_json(s));
    } else {
        outln!("{}", human(s));
    }
}

/// Reads the request body: a file, stdin (`-`), or nothing; then applies `--set`.
async fn read_request(args: &SubmitArgs) -> Result<Value, CliError> {
    let mut body = match args.request.as_deref() {
        None => json!({}),
        Some("-") => {
            use tokio::io::AsyncReadExt;
            let mut text = String::new();
            tokio::io::stdin()
                .read_to_string(&mut text)
                .await
                .map_err(|e| CliError::usage(format!("reading the request from stdin: {e}")))?;
            parse_json(&text, "stdin")?
        }
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .map_err(|e| CliError::usage(format!("reading the request file {path}: {e}")))?;
            parse_json(&text, path)?
        }
    };
    if !body.is_object() {
        return Err(CliError::usage(
            "the request must be a JSON object (the provider's documented request body)",
        ));
    }
    for set in &args.set {
        let (field, value) = set
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--set {set:?}: expected FIELD=VALUE")))?;
        let value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        let mut target = &mut body;
        let parts: Vec<&str> = field.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                return Err(CliError::usage(format!("--set {set:?}: empty field name")));
            }
            let Value::Object(map) = target else {
                return Err(CliError::usage(format!(
                    "--set {set:?}: {part} is inside a non-object"
                )));
            };
            if i + 1 == parts.len() {
                map.insert(part.to_string(), value.clone());
                break;
            }
            target = map.entry(part.to_string()).or_insert_with(|| json!({}));
        }
    }
    Ok(body)
}

fn parse_json(text: &str, source: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|e| {
        // serde_json's message already ends with "at line L column C".
        CliError::usage(format!("the request in {source} is not valid JSON: {e}"))
    })
}

pub async fn submit(args: SubmitArgs, json_out: bool) -> Result<u8, CliError> {
    let provider = parse_provider(&args.provider)?;
    let body = read_request(&args).await?;
    if args.tool.is_some() && provider != Provider::VideoGen {
        return Err(CliError::usage(format!(
            "--tool is for videogen only; {provider} has a single submit endpoint"
        )));
    }
    let env = Env::load().await?;
    let api = env.api(provider)?;
    let mut request = SubmitRequest::new(body);
    request.tool = args.tool.clone();
    request.webhook_url = args.webhook_url.clone();
    // One direct POST: an unreachable provider or a refused key ends the command at once
    // (exit 3) instead of being retried with backoff by the scheduler.
    let snapshot = api.submit(&request).await?;
    if !args.wait {
        print_snapshot(&snapshot, json_out);
        return Ok(0);
    }
    if !json_out {
        errln!("submitted {}", snapshot.job);
    }
    if snapshot.is_terminal() {
        return finish(Ok(snapshot), json_out);
    }
    let client = Client::builder()
        .provider(api)
        .clock(env.clock.clone())
        .build()?;
    let job = snapshot.job.clone();
    let mut options = WatchOptions::default().with_started_at(env.clock.now());
    if let Some(tool) = request.tool.clone().or_else(|| snapshot.tool.clone()) {
        options = options.with_tool(tool);
    }
    client
        .scheduler()
        .watch(job.clone(), Some(snapshot), options)?;
    finish(client.scheduler().wait(&job).await, json_out)
}

pub async fn status(args: StatusArgs, json_out: bool) -> Result<u8, CliError> {
    let (Some(provider), Some(id)) = (args.provider.as_deref(), args.id.as_deref()) else {
        return Err(CliError::usage(
            "usage: mediajobs status <provider> <id>, or mediajobs status --journal <file>",
        ));
    };
    let provider = parse_provider(provider)?;
    let env = Env::load().await?;
    let snapshot = env.api(provider)?.status(id).await?;
    print_snapshot(&snapshot, json_out);
    Ok(0)
}

pub async fn wait(args: WaitArgs, json_out: bool) -> Result<u8, CliError> {
    let provider = parse_provider(&args.provider)?;
    let env = Env::load().await?;
    let api = env.api(provider)?;
    // Fail fast on a wrong id or key, or a provider that cannot be reached, instead of waiting
    // out the deadline; a busy or failing one (429, 5xx) is waited out like any later read.
    let first = match api.status(&args.id).await {
        Ok(snapshot) => Some(snapshot),
        Err(e) if e.is_transient() && !e.is_unreachable() => None,
        Err(e) => return Err(e.into()),
    };
    let client = Client::builder()
        .provider(api.clone())
        .clock(env.clock.clone())
        .scheduler_config(SchedulerConfig::default())
        .build()?;
    let outcome = if let Some(done) = first.as_ref().filter(|s| s.is_terminal()) {
        Ok(done.clone())
    } else {
        let options = WatchOptions::default().with_deadline(Duration::from_secs(args.timeout));
        let options = match first.as_ref().and_then(|s| s.tool.clone()) {
            Some(t) => options.with_tool(t),
            None => options,
        };
        client
            .scheduler()
            .watch(JobId::new(provider, &args.id), first, options)?;
        client
            .scheduler()
            .wait(&JobId::new(provider, &args.id))
            .await
    };
    if let (Ok(snapshot), Some(dir)) = (&outcome, &args.download) {
        download_all(
            api.as_ref(),
            env.transport.as_ref(),
            env.clock.as_ref(),
            snapshot,
            dir,
            json_out,
        )
        .await?;
    }
    finish(outcome, json_out)
}

async fn download_all(
    api: &dyn ProviderApi,
    transport: &dyn Transport,
    clock: &dyn Clock,
    snapshot: &Snapshot,
    dir: &Path,
    json_out: bool,
) -> Result<(), CliError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| CliError::usage(format!("creating {}: {e}", dir.display())))?;
    for (i, output) in snapshot.outputs.iter().enumerate() {
        let name = mediajobs::download::file_name(&snapshot.job.id, i, output);
        let saved = mediajobs::download::download_output(
            api,
            transport,
            clock,
            &snapshot.job.id,
            output,
            &dir.join(name),
            // One job's download: no summary counts API calls here.
            &mut 0,
        )
        .await?;
        if !json_out {
            errln!(
                "saved {} ({} bytes, sha256 {})",
                saved.path.display(),
                saved.download.bytes,
                saved.download.sha256
            );
        }
    }
    Ok(())
}

fn finish(outcome: Result<Snapshot, WaitError>, json_out: bool) -> Result<u8, CliError> {
    match outcome {
        Ok(snapshot) => {
            print_snapshot(&snapshot, json_out);
            Ok(if snapshot.status.status == Status::Succeeded {
                0
            } else {
                JOB_FAILED
            })
        }
        Err(WaitError::Provider { source, .. }) => Err(source.into()),
        Err(e) => Err(CliError {
            code: JOB_FAILED,
            message: e.to_string(),
        }),
    }
}

pub async fn cancel(args: JobArgs, json_out: bool) -> Result<u8, CliError> {
    let provider = parse_provider(&args.provider)?;
    let env = Env::load().await?;
    let api = env.api(provider)?;
    match api.cancel(&args.id).await {
        Ok(()) => {
            if json_out {
                outln!(
                    "{}",
                    json!({"provider": provider, "id": args.id, "cancel": "requested"})
                );
            } else {
                outln!("{provider}:{} cancel requested", args.id);
            }
            Ok(0)
        }
        Err(Error::Unsupported { .. }) => Err(CliError {
            code: USAGE,
            message: format!(
                "{provider} has no cancel endpoint; the job runs to its end (only VideoGen can cancel)"
            ),
        }),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(args: ListArgs, json_out: bool) -> Result<u8, CliError> {
    let provider = parse_provider(&args.provider)?;
    let env = Env::load().await?;
    let api = env.api(provider)?;
    let query = ListQuery {
        limit: args.limit,
        status: args.status.clone(),
        ..ListQuery::default()
    };
    let page = match api.list(&query).await {
        Ok(page) => page,
        Err(Error::Unsupported { .. }) => {
            return Err(CliError::usage(format!(
                "{provider} has no list endpoint (only VideoGen and Vidiking list jobs)"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    if json_out {
        let items: Vec<Value> = page.items.iter().map(snapshot_json).collect();
        outln!(
            "{}",
            json!({"items": items, "next_cursor": page.next_cursor})
        );
    } else {
        for s in &page.items {
            outln!("{}", human(s));
        }
        if page.items.is_empty() {
            outln!("(no jobs)");
        }
    }
    Ok(0)
}
