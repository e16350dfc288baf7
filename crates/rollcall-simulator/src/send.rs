//! Sending planned deliveries over HTTP at a chosen rate and concurrency, and tallying answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rollcall_core::SigningKey;
use tokio::sync::Semaphore;

use crate::envelope::webhook_body;
use crate::traffic::PlannedDelivery;

/// Called with each body just before it is sent (the demo keeps its fake DreamClass in step).
pub type BeforeSend = std::sync::Arc<dyn Fn(&[u8]) + Send + Sync>;

#[derive(Clone)]
pub struct SendOptions {
    /// The full webhook URL, e.g. `http://127.0.0.1:8787/webhooks/dreamclass`.
    pub url: String,
    pub tenant: String,
    pub key: Option<SigningKey>,
    /// `Authorization` header value to send (HTTP Basic), if DreamClass is set up with one.
    pub authorization: Option<String>,
    /// Deliveries per second; `None` sends as fast as the concurrency allows.
    pub rate: Option<f64>,
    pub concurrency: usize,
    pub before_send: Option<BeforeSend>,
}

/// What came back.
#[derive(Debug, Clone, Default)]
pub struct SendReport {
    pub sent: u64,
    /// HTTP status → count.
    pub statuses: BTreeMap<u16, u64>,
    /// Rollcall's `x-rollcall-outcome` answer header → count.
    pub outcomes: BTreeMap<String, u64>,
    /// Requests that got no answer at all, with the first few errors.
    pub transport_errors: u64,
    pub first_errors: Vec<String>,
    pub elapsed: Duration,
}

impl SendReport {
    pub fn ok(&self) -> u64 {
        self.statuses.get(&200).copied().unwrap_or(0)
    }

    /// One line per fact, for the terminal.
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let mut out = format!(
            "sent {} deliveries in {:.1} s ({:.0}/s)\n",
            self.sent,
            secs,
            self.sent as f64 / secs
        );
        for (status, n) in &self.statuses {
            out.push_str(&format!("  HTTP {status}: {n}\n"));
        }
        for (outcome, n) in &self.outcomes {
            out.push_str(&format!("  {outcome}: {n}\n"));
        }
        if self.transport_errors > 0 {
            out.push_str(&format!("  no answer: {}\n", self.transport_errors));
            for e in &self.first_errors {
                out.push_str(&format!("    {e}\n"));
            }
        }
        out
    }
}

/// Sends `deliveries` in order (with `concurrency` in flight at once).
pub async fn send_all(deliveries: &[PlannedDelivery], options: &SendOptions) -> SendReport {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("an HTTP client builds");
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let report = Arc::new(std::sync::Mutex::new(SendReport::default()));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(deliveries.len());
    for (i, delivery) in deliveries.iter().enumerate() {
        if let Some(rate) = options.rate.filter(|r| *r > 0.0) {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = limit.clone().acquire_owned().await.expect("semaphore open");
        let body = webhook_body(delivery, &options.tenant, options.key.as_ref());
        if let Some(hook) = &options.before_send {
            hook(&body);
        }
        let mut request = client
            .post(&options.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(auth) = &options.authorization {
            request = request.header("authorization", auth);
        }
        let report = report.clone();
        tasks.push(tokio::spawn(async move {
            let result = request.send().await;
            let mut r = report.lock().expect("report lock");
            r.sent += 1;
            match result {
                Ok(response) => {
                    *r.statuses.entry(response.status().as_u16()).or_default() += 1;
                    if let Some(outcome) = response
                        .headers()
                        .get("x-rollcall-outcome")
                        .and_then(|v| v.to_str().ok())
                    {
                        *r.outcomes.entry(outcome.to_string()).or_default() += 1;
                    }
                }
                Err(e) => {
                    r.transport_errors += 1;
                    if r.first_errors.len() < 5 {
                        r.first_errors.push(e.to_string());
                    }
                }
            }
            drop(permit);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let mut report = Arc::try_unwrap(report)
        .map(|m| m.into_inner().expect("report lock"))
        .unwrap_or_else(|arc| arc.lock().expect("report lock").clone());
    report.elapsed = start.elapsed();
    report
}
