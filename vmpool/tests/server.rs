//! The `server` example under test, once per engine compiled in: the server runs on a loopback port with the
//! example's own scripts and a `kv` database in a temporary folder, a real HTTP client (reqwest) sends concurrent
//! requests, and the test checks the results, the status code of every error case, `kv` across requests (and in
//! the SQLite file), host errors mapped to their status, console lines in the log with the request id, that no
//! request sees another's context, the metrics endpoint, graceful shutdown, and that the pools' counters balance
//! after shutdown.
//!
//! Built without an engine feature, only the engine-independent tests run.

// The example's `main` and start-up code are not called here. (Built without an engine, the example allows dead
// code itself.)
#[cfg_attr(
    any(feature = "quickjs", feature = "lua", feature = "boa"),
    allow(dead_code)
)]
#[path = "../examples/server.rs"]
mod server;

use std::path::Path;

use reqwest::StatusCode;
use vmpool::ErrorKind;

/// The server on a loopback port, exercised through HTTP.
#[cfg(any(feature = "quickjs", feature = "lua", feature = "boa"))]
mod live {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use super::server::kv::{KvLimits, KvStore};
    use super::server::{self, App, ServerEngine};
    use super::{Record, capture_logs, logged};
    use reqwest::StatusCode;
    use serde_json::{Value, json};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;
    use vmpool::{DestroyReason, PoolConfig};

    /// Small pools and limits, so that the error cases end quickly; `timeout` and `acquire_timeout` are long enough
    /// that no legitimate request (at most 24 in flight for 4 instances) runs into them on a busy debug build.
    const CONFIG: &str = r#"
[vm_pool]
max_size = 4
preload_size = 4
acquire_timeout = "1s"
[vm_pool.limits]
timeout = "1s"
memory_mb = 16
stack_kb = 256
"#;

    struct Running<E: ServerEngine> {
        app: Arc<App<E>>,
        base: String,
        addr: std::net::SocketAddr,
        stop: oneshot::Sender<()>,
        server: tokio::task::JoinHandle<std::io::Result<()>>,
        client: reqwest::Client,
    }

    async fn start<E: ServerEngine>() -> Running<E> {
        start_in::<E>(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scripts")).await
    }

    async fn start_in<E: ServerEngine>(scripts: std::path::PathBuf) -> Running<E> {
        capture_logs();
        let config = PoolConfig::from_toml(CONFIG).expect("the test's config parses");
        let kv =
            Arc::new(KvStore::temporary(KvLimits::default()).expect("a temporary kv database"));
        // Building the pools creates their instances: off the async workers, as the example's main does.
        let app = tokio::task::spawn_blocking(move || App::<E>::load(config, &scripts, kv))
            .await
            .expect("load does not panic")
            .expect("the example's scripts load");
        let app = Arc::new(app);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(app.clone(), listener, async {
            let _ = stopped.await;
        }));
        Running {
            app,
            base: format!("http://{addr}"),
            addr,
            stop,
            server,
            client: reqwest::Client::new(),
        }
    }

    impl<E: ServerEngine> Running<E> {
        /// POSTs `body` (raw text) to `/run/{handler}`; returns the status, the `Retry-After` header and the JSON body.
        async fn post(&self, handler: &str, body: &str) -> (StatusCode, Option<String>, Value) {
            let response = self
                .client
                .post(format!("{}/run/{handler}", self.base))
                .header("content-type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .expect("the server answers");
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().expect("ASCII header").to_owned());
            let body = response.json().await.expect("every answer is JSON");
            (status, retry_after, body)
        }

        /// Sends `method` to `path` with `headers` and a raw `body`; returns the status, the headers and the JSON
        /// body.
        async fn send(
            &self,
            method: reqwest::Method,
            path: &str,
            headers: &[(&str, &str)],
            body: &str,
        ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
            let mut request = self
                .client
                .request(method, format!("{}{path}", self.base))
                .body(body.to_owned());
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.json().await.expect("every answer is JSON");
            (status, headers, body)
        }

        async fn get(&self, path: &str) -> reqwest::Response {
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("the server answers")
        }
    }

    /// The value of the sample `name{labels}` in a Prometheus text exposition.
    fn sample(text: &str, name: &str, labels: &str) -> f64 {
        let prefix = format!("{name}{{{labels}}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no sample {prefix:?} in\n{text}"));
        line[prefix.len()..].parse().expect("a number")
    }

    /// Asserts an error answer: status, `error` kind, and a message containing `needle`.
    fn assert_error(
        answer: &(StatusCode, Option<String>, Value),
        status: StatusCode,
        kind: &str,
        needle: &str,
    ) {
        let (got, _, body) = answer;
        assert_eq!(*got, status, "status of {body}");
        assert_eq!(body["error"], kind, "kind in {body}");
        let message = body["message"].as_str().expect("a message");
        assert!(
            message.contains(needle),
            "{message:?} should contain {needle:?}"
        );
    }

    /// A handler script of `version` for engine `E`; `broken` gives one that does not compile.
    fn versioned<E: ServerEngine>(version: u32) -> String {
        if E::EXTENSION == "lua" {
            format!("function handle(request) return {{ version = {version} }} end")
        } else {
            format!("function handle(request) {{ return {{ version: {version} }}; }}")
        }
    }

    /// Writes handler `name` into `dir` as a deploy does: a temporary file renamed into place.
    fn deploy<E: ServerEngine>(dir: &Path, name: &str, text: &str) {
        let temporary = dir.join(format!("{name}.{}.new", E::EXTENSION));
        std::fs::write(&temporary, text).expect("write the new version");
        std::fs::rename(&temporary, dir.join(format!("{name}.{}", E::EXTENSION)))
            .expect("rename it into place");
    }

    /// Polls `done` every 10 ms for up to 60 s (the watcher syncs in the background).
    async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
        for _ in 0..6000 {
            if done().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// Hot reload: a client sends requests in a loop while the handler's file changes on disk (a new version, a
    /// broken one, one without `handle`); new and deleted files add and remove routes; `POST /admin/reload` syncs
    /// on demand. Every response is a 200 of a whole version, and versions only go forward.
    pub(crate) async fn hot_reload<E: ServerEngine>() {
        let dir = tempfile::tempdir().expect("a scripts folder");
        deploy::<E>(dir.path(), "v", &versioned::<E>(1));
        let server = start_in::<E>(dir.path().to_owned()).await;
        let watcher = server::watch(server.app.clone()).expect("the folder can be watched");
        let seen = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let client = {
            let (client, url, seen, stop) = (
                server.client.clone(),
                format!("{}/run/v", server.base),
                seen.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    let response = client.post(&url).body("{}").send().await.expect("answered");
                    let status = response.status();
                    let body: Value = response.json().await.expect("JSON");
                    assert_eq!(status, StatusCode::OK, "every request succeeds: {body}");
                    let version = body["version"].as_u64().expect("a whole version");
                    seen.lock().unwrap().push(version);
                }
            })
        };
        let latest = || seen.lock().unwrap().last().copied();
        eventually("the first version", async || latest() == Some(1)).await;
        deploy::<E>(dir.path(), "v", &versioned::<E>(2));
        eventually("the second version", async || latest() == Some(2)).await;

        let failed = |n: u32| {
            format!(
                "vmpool_reloads_total{{engine=\"{}\",handler=\"v\",outcome=\"failed\"}} {n}",
                E::NAME
            )
        };
        deploy::<E>(dir.path(), "v", "function handle(");
        eventually("the broken file's refusal", async || {
            server.app.encode_metrics().unwrap().contains(&failed(1))
        })
        .await;
        deploy::<E>(dir.path(), "v", "x = 1");
        eventually("the refusal of a file without handle", async || {
            server.app.encode_metrics().unwrap().contains(&failed(2))
        })
        .await;
        let refusals =
            logged(|r| r.level == log::Level::Error && r.message.contains("keeps serving"));
        assert!(
            refusals
                .iter()
                .any(|r| r.message.contains("no global function `handle`")),
            "{refusals:?}"
        );
        let before = seen.lock().unwrap().len();
        eventually("requests after the refusals", async || {
            seen.lock().unwrap().len() > before + 5
        })
        .await;
        assert_eq!(latest(), Some(2), "the previous version keeps serving");

        deploy::<E>(dir.path(), "w", &versioned::<E>(5));
        eventually("the new route", async || {
            server.post("w", "{}").await.0 == StatusCode::OK
        })
        .await;
        assert_eq!(server.post("w", "{}").await.2, json!({ "version": 5 }));
        std::fs::remove_file(dir.path().join(format!("w.{}", E::EXTENSION))).unwrap();
        eventually("the deleted route", async || {
            server.post("w", "{}").await.0 == StatusCode::NOT_FOUND
        })
        .await;
        assert!(
            server.app.encode_metrics().unwrap().contains(&failed(2)),
            "the refused file is not tried again by the syncs of other changes"
        );

        // On demand, without the watcher.
        drop(watcher);
        std::fs::write(
            dir.path().join(format!("v.{}", E::EXTENSION)),
            versioned::<E>(3),
        )
        .unwrap();
        let response = server
            .client
            .post(format!("{}/admin/reload", server.base))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["reloaded"], json!(["v"]), "{report}");
        eventually("the third version", async || latest() == Some(3)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        client.await.expect("every request succeeded");

        let seen = seen.lock().unwrap().clone();
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "versions only go forward"
        );
        assert!(
            seen.iter().all(|v| [1, 2, 3].contains(v)),
            "only whole versions"
        );
        let pool = server.app.pool("v").expect("v");
        let m = pool.metrics();
        assert_eq!(m.generation, 3, "two reloads took, two were refused");
        assert!(m.is_consistent(), "{m:?}");
        let text = server.app.encode_metrics().unwrap();
        let labels = format!("engine=\"{}\",handler=\"v\"", E::NAME);
        assert_eq!(sample(&text, "vmpool_generation", &labels), 3.0);
        assert_eq!(
            sample(
                &text,
                "vmpool_reloads_total",
                &format!("{labels},outcome=\"ok\"")
            ),
            2.0
        );
        assert!(
            sample(
                &text,
                "vmpool_destroyed_total",
                &format!("{labels},reason=\"reloaded\"")
            ) > 0.0
        );
        server.stop.send(()).expect("the server is running");
        server
            .server
            .await
            .expect("no panic")
            .expect("serve ends cleanly");
    }

    pub(crate) async fn exercise<E: ServerEngine>() {
        let server = start::<E>().await;
        let engine = E::NAME;
        let mut responses = 0_u64;

        // Concurrent requests, every one with its own answer.
        let mut tasks = Vec::new();
        for i in 0..24_u64 {
            let client = server.client.clone();
            let base = server.base.clone();
            tasks.push(tokio::spawn(async move {
            let (handler, body) = if i % 2 == 0 {
                ("hello", json!({ "name": format!("client {i}") }))
            } else {
                (
                    "order",
                    json!({ "items": [{ "sku": "A", "price": 2.5, "qty": i }, { "sku": "B", "price": 0.1, "qty": 3 }] }),
                )
            };
            let response = client
                .post(format!("{base}/run/{handler}"))
                .json(&body)
                .send()
                .await
                .expect("the server answers");
            (i, response.status(), response.json::<Value>().await.expect("JSON"))
        }));
        }
        for task in tasks {
            let (i, status, body) = task.await.expect("request task");
            assert_eq!(status, StatusCode::OK, "request {i}: {body}");
            if i % 2 == 0 {
                assert_eq!(body, json!({ "greeting": format!("Hello, client {i}!") }));
            } else {
                let total = 2.5 * i as f64 + 0.3;
                assert_eq!(body["lines"], json!(2));
                assert_eq!(body["units"], json!(i + 3));
                assert!(
                    (body["total"].as_f64().expect("a number") - total).abs() < 1e-9,
                    "{body}"
                );
            }
            responses += 1;
        }

        // Each error case and its status code.
        let answer = server.post("faults", r#"{"do": "throw"}"#).await;
        assert_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "exception",
            "faults: thrown on request",
        );
        let answer = server
            .post(
                "order",
                r#"{"items": [{"sku": "A", "price": 1, "qty": 0}]}"#,
            )
            .await;
        assert_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "exception",
            "invalid quantity for A: 0",
        );
        let answer = server.post("faults", r#"{"do": "loop"}"#).await;
        assert_error(&answer, StatusCode::GATEWAY_TIMEOUT, "timeout", "1s");
        let answer = server.post("faults", r#"{"do": "recurse"}"#).await;
        assert_error(&answer, StatusCode::UNPROCESSABLE_ENTITY, "stack", "");
        // Boa's limit too: the example installs Boa's counting allocator.
        let answer = server.post("faults", r#"{"do": "alloc"}"#).await;
        assert_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "memory",
            "16 MiB",
        );
        let tainted: u32 = 3;
        let answer = server.post("hello", r#"{"name": "#).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "bad_request", "not JSON");
        let answer = server.post("nope", "{}").await;
        assert_error(&answer, StatusCode::NOT_FOUND, "not_found", "\"nope\"");
        responses += u64::from(tainted) + 4;

        let host_requests = exercise_host(&server).await;
        responses += host_requests;

        // An exhausted pool: the test holds every instance of `hello`, so the request waits `acquire_timeout` in vain.
        let hello = server.app.pool("hello").expect("the hello handler");
        let held: Vec<_> = (0..4)
            .map(|_| hello.try_acquire_owned().expect("an idle instance"))
            .collect();
        let answer = server.post("hello", "{}").await;
        assert_error(
            &answer,
            StatusCode::SERVICE_UNAVAILABLE,
            "exhausted",
            "VM pool exhausted",
        );
        assert_eq!(answer.1.as_deref(), Some("1"), "Retry-After");
        drop(held);
        let answer = server.post("hello", "{}").await;
        assert_eq!(answer.0, StatusCode::OK);
        assert_eq!(answer.2, json!({ "greeting": "Hello, world!" }));
        responses += 2;

        // Health and metrics.
        let health = server.get("/healthz").await;
        assert_eq!(health.status(), StatusCode::OK);
        let health: Value = health.json().await.expect("JSON");
        assert_eq!(health["status"], "ok");
        assert_eq!(health["handlers"]["hello"]["can_serve"], true);

        let metrics = server.get("/metrics").await;
        assert_eq!(metrics.status(), StatusCode::OK);
        let content_type = metrics.headers()["content-type"]
            .to_str()
            .expect("ASCII")
            .to_owned();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = metrics.text().await.expect("text");
        assert!(text.ends_with("# EOF\n"), "{text}");
        for (handler, pool) in
            ["hello", "order", "faults"].map(|h| (h, server.app.pool(h).expect("handler")))
        {
            let labels = format!("engine=\"{engine}\",handler=\"{handler}\"");
            let m = pool.metrics();
            assert_eq!(
                sample(&text, "vmpool_uses_total", &labels),
                m.total_uses as f64,
                "{handler}"
            );
            assert_eq!(
                sample(&text, "vmpool_created_total", &labels),
                m.created as f64,
                "{handler}"
            );
            assert_eq!(
                sample(&text, "vmpool_script_errors_total", &labels),
                m.script_errors as f64
            );
            assert_eq!(sample(&text, "vmpool_in_use", &labels), 0.0, "{handler}");
            assert_eq!(sample(&text, "vmpool_max_size", &labels), 4.0);
            let tainted_labels = format!("{labels},reason=\"tainted\"");
            assert_eq!(
                sample(&text, "vmpool_destroyed_total", &tainted_labels),
                m.destroyed.get(DestroyReason::Tainted) as f64
            );
        }
        let faults = format!("engine=\"{engine}\",handler=\"faults\"");
        assert_eq!(
            sample(
                &text,
                "vmpool_destroyed_total",
                &format!("{faults},reason=\"tainted\"")
            ),
            f64::from(tainted)
        );
        assert_eq!(
            sample(&text, "vmpool_script_errors_total", &faults),
            f64::from(tainted) + 1.0
        );
        let hello_labels = format!("engine=\"{engine}\",handler=\"hello\"");
        assert_eq!(
            sample(&text, "vmpool_wait_timeouts_total", &hello_labels),
            1.0
        );
        assert!(sample(&text, "vmpool_wait_seconds_total", &hello_labels) >= 1.0);
        assert_eq!(
            sample(
                &text,
                "vmpool_http_responses_total",
                &format!("{hello_labels},status=\"503\"")
            ),
            1.0
        );
        assert_eq!(
            sample(
                &text,
                "vmpool_http_responses_total",
                &format!("{faults},status=\"504\"")
            ),
            1.0
        );
        let counted: f64 = text
            .lines()
            .filter(|l| l.starts_with("vmpool_http_responses_total{"))
            .map(|l| {
                l.rsplit(' ')
                    .next()
                    .expect("value")
                    .parse::<f64>()
                    .expect("a number")
            })
            .sum();
        assert_eq!(counted, responses as f64, "every response is counted once");

        // Graceful shutdown: a request in flight when the signal comes still gets its answer.
        let faults_pool = server.app.pool("faults").expect("faults").clone();
        let in_flight = {
            let client = server.client.clone();
            let url = format!("{}/run/faults", server.base);
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .body(r#"{"do": "busy", "ms": 150}"#)
                    .send()
                    .await
                    .expect("the in-flight request is answered");
                (
                    response.status(),
                    response.json::<Value>().await.expect("JSON"),
                )
            })
        };
        while faults_pool.metrics().in_use == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.stop.send(()).expect("the server is running");
        let (status, body) = in_flight.await.expect("request task");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["ok"], true);
        server
            .server
            .await
            .expect("serve does not panic")
            .expect("serve ends cleanly");
        assert!(
            tokio::net::TcpStream::connect(server.addr).await.is_err(),
            "no new connections after shutdown"
        );

        // After shutdown every pool is closed and its counters balance. A refill of the warm floor that was under way
        // when the pool closed (after the discards above) ends by destroying its new instance: wait for it.
        let mut uses = 0;
        for handler in server.app.handlers() {
            let pool = server.app.pool(&handler).expect("handler");
            for _ in 0..1000 {
                if pool.metrics().creating == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let m = pool.metrics();
            assert!(m.closed, "{handler}");
            assert_eq!(
                (m.in_use, m.available, m.creating, m.waiting),
                (0, 0, 0, 0),
                "{handler}: {m:?}"
            );
            assert_eq!(m.created, m.destroyed.total(), "{handler}: {m:?}");
            assert_eq!(m.live(), 0);
            assert_eq!(m.create_errors, 0, "{handler}");
            assert_eq!(
                m.destroyed.get(DestroyReason::Closed) + m.destroyed.get(DestroyReason::Tainted),
                m.created,
                "{handler}: {m:?}"
            );
            uses += m.total_uses;
        }
        // Every request that reached a pool used one instance once, plus the 4 instances the test held itself:
        // the 24 concurrent ones, 6 or 7 error cases that ran a script, the host API's requests, the retry after
        // exhaustion, the in-flight one.
        assert_eq!(
            uses,
            24 + u64::from(tainted) + 2 + host_requests + 1 + 1 + 4
        );
    }

    /// The script's view of the service: `kv` across requests, host errors mapped to their status, console lines in
    /// the log with the request id, and the request as the context (never another request's). Returns the number of
    /// requests made (each one used an instance once).
    async fn exercise_host<E: ServerEngine>(server: &Running<E>) -> u64 {
        use reqwest::Method;
        let engine = E::NAME;
        let mut requests = 0;

        // kv: a value stored by one request is read back by the next ones, and overwritten.
        let document =
            json!({ "title": "groceries", "items": ["milk", 2, { "fresh": true }], "done": false });
        let put_id = format!("{engine}-put-doc");
        let (status, headers, body) = server
            .send(
                Method::PUT,
                "/run/notes?key=doc",
                &[("x-request-id", &put_id)],
                &document.to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "key": "doc", "stored": true }));
        assert_eq!(headers["x-request-id"], put_id.as_str());
        let (status, _, body) = server
            .send(Method::GET, "/run/notes?key=doc", &[], "")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "key": "doc", "value": document }));
        let (status, _, body) = server
            .send(Method::GET, "/run/notes?key=nothing", &[], "")
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["key"], "nothing");
        assert_eq!(body["value"], Value::Null, "{body}");
        let (status, _, body) = server
            .send(Method::POST, "/run/notes?key=doc", &[], "42")
            .await;
        assert_eq!(
            (status, &body),
            (StatusCode::OK, &json!({ "key": "doc", "stored": true }))
        );
        let (_, _, body) = server
            .send(Method::GET, "/run/notes?key=doc", &[], "")
            .await;
        assert_eq!(body, json!({ "key": "doc", "value": 42 }));
        requests += 5;
        // The value is in the SQLite file, in the handler's own key space.
        let db = rusqlite::Connection::open(server.app.kv().path()).expect("the database opens");
        let stored: String = db
            .query_row(
                "SELECT value FROM kv WHERE handler = 'notes' AND key = 'doc'",
                [],
                |row| row.get(0),
            )
            .expect("the row is there");
        assert_eq!(stored, "42");
        let other = server
            .app
            .kv()
            .get("request", "doc", Duration::from_secs(1));
        assert_eq!(other, Ok(None), "another handler's key space is empty");
        // The store logged nothing but the script did, with the request id.
        let lines = logged(|r| {
            r.target == "vmpool::script" && r.message.starts_with(&format!("[{put_id}] "))
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].level, log::Level::Info);
        assert_eq!(lines[0].message, format!("[{put_id}] notes: stored doc"));
        let access = logged(|r| {
            r.target == "vmpool::server" && r.message.starts_with(&format!("[{put_id}] "))
        });
        assert_eq!(access.len(), 1, "{access:?}");
        assert!(
            access[0].message.ends_with("PUT /run/notes -> 200 OK"),
            "{access:?}"
        );

        // Host errors the script does not catch: the status their code maps to.
        let (status, _, body) = server.send(Method::PUT, "/run/notes?key=", &[], "1").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            (&body["error"], &body["code"]),
            (&json!("host"), &json!("E_KV_KEY")),
            "{body}"
        );
        assert!(
            body["message"]
                .as_str()
                .expect("a message")
                .contains("the key is empty"),
            "{body}"
        );
        let big = Value::String("x".repeat(70_000)).to_string();
        let (status, _, body) = server
            .send(Method::PUT, "/run/notes?key=big", &[], &big)
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["code"], "E_KV_TOO_LARGE", "{body}");
        assert!(
            body["message"]
                .as_str()
                .expect("a message")
                .contains("65536"),
            "{body}"
        );
        // A script's own exception stays a 422.
        let (status, _, body) = server.send(Method::GET, "/run/notes", &[], "").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"], "exception", "{body}");
        assert!(
            body["message"]
                .as_str()
                .expect("a message")
                .contains("needs ?key="),
            "{body}"
        );
        // Another writer holds the database: the write gives up at half the time left, 503 with Retry-After.
        db.execute_batch("BEGIN IMMEDIATE").expect("the write lock");
        let (status, headers, body) = server
            .send(Method::PUT, "/run/notes?key=doc", &[], "7")
            .await;
        db.execute_batch("ROLLBACK").expect("the lock is released");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "E_KV_BUSY", "{body}");
        assert_eq!(headers["retry-after"], "1");
        let (_, _, body) = server
            .send(Method::GET, "/run/notes?key=doc", &[], "")
            .await;
        assert_eq!(
            body,
            json!({ "key": "doc", "value": 42 }),
            "the refused write changed nothing"
        );
        requests += 5;

        // Console: every level into the log, target vmpool::script, with the request id.
        let log_id = format!("{engine}-log");
        let (status, _, body) = server
            .send(
                Method::GET,
                "/run/request?warn=yes",
                &[("x-request-id", &log_id)],
                "",
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let lines: Vec<Record> = logged(|r| {
            r.target == "vmpool::script" && r.message.starts_with(&format!("[{log_id}] "))
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].level, log::Level::Info);
        assert!(
            lines[0].message.contains("request:") && lines[0].message.ends_with("/run/request"),
            "{lines:?}"
        );
        assert_eq!(lines[1].level, log::Level::Warn);
        assert_eq!(
            lines[1].message,
            format!("[{log_id}] request: asked to warn yes")
        );
        requests += 1;

        // Context: each request sees its own method, path, query and headers, nothing of the one before, even on
        // an instance that served it (4 instances, 9 requests) and through a function the prelude kept.
        let mut ids = Vec::new();
        for i in 0..9 {
            let secret = format!("secret-{i}");
            let mut headers = vec![];
            if i < 8 {
                headers.push(("x-demo", secret.as_str()));
            }
            let (status, response_headers, body) = server
                .send(Method::GET, &format!("/run/request?n={i}"), &headers, "")
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let id = response_headers["x-request-id"]
                .to_str()
                .expect("ASCII")
                .to_owned();
            assert_eq!(body["id"], id.as_str(), "{body}");
            assert_eq!(body["method"], "GET");
            assert_eq!(body["path"], "/run/request");
            assert_eq!(body["query"], json!({ "n": i.to_string() }), "{body}");
            if i < 8 {
                assert_eq!(body["demo"], secret.as_str(), "{body}");
            } else {
                assert_eq!(
                    body["demo"],
                    Value::Null,
                    "the last request sent no X-Demo: {body}"
                );
            }
            assert_eq!(
                body["previous"],
                Value::Null,
                "request {i} saw an earlier one: {body}"
            );
            assert!(!ids.contains(&id), "ids are unique: {id} in {ids:?}");
            ids.push(id);
        }
        requests += 9;
        let m = server
            .app
            .pool("request")
            .expect("the request handler")
            .metrics();
        assert_eq!(m.created, 4, "no instance was replaced: {m:?}");
        assert_eq!(m.total_uses, 10, "instances were reused: {m:?}");
        requests
    }
}

/// One log record the test's logger kept.
#[derive(Debug, Clone)]
#[cfg_attr(
    not(any(feature = "quickjs", feature = "lua", feature = "boa")),
    allow(dead_code)
)]
struct Record {
    target: String,
    level: log::Level,
    message: String,
}

/// Every `vmpool*` record logged by this test binary (the servers of all engines).
static RECORDS: std::sync::Mutex<Vec<Record>> = std::sync::Mutex::new(Vec::new());

/// Keeps every record of a `vmpool*` target.
struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("vmpool")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            RECORDS
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Record {
                    target: record.target().to_owned(),
                    level: record.level(),
                    message: record.args().to_string(),
                });
        }
    }

    fn flush(&self) {}
}

/// Installs the capturing logger, once per test binary.
#[cfg_attr(
    not(any(feature = "quickjs", feature = "lua", feature = "boa")),
    allow(dead_code)
)]
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The records kept so far that `keep` selects, in the order they were logged.
#[cfg_attr(
    not(any(feature = "quickjs", feature = "lua", feature = "boa")),
    allow(dead_code)
)]
fn logged(keep: impl Fn(&Record) -> bool) -> Vec<Record> {
    RECORDS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|r| keep(r))
        .cloned()
        .collect()
}

#[test]
fn host_error_codes_map_to_statuses() {
    use server::status_for_host_code;
    assert_eq!(status_for_host_code("E_KV_KEY"), StatusCode::BAD_REQUEST);
    assert_eq!(
        status_for_host_code("E_KV_TOO_LARGE"),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        status_for_host_code("E_KV_BUSY"),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status_for_host_code("E_KV_FAILED"),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        status_for_host_code("E_NO_REQUEST"),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    // A script passing the wrong arguments is the script's error.
    assert_eq!(
        status_for_host_code("E_ARGS"),
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[test]
fn only_host_errors_raised_in_the_request_map_to_a_status() {
    let scope = server::RequestScope::new("notes");
    let fake = "Error: E_KV_BUSY: the kv database stayed locked by another writer";
    assert_eq!(
        scope.raised_in(fake),
        None,
        "a script's own error is not a host error"
    );
    let raised = scope.record(vmpool::HostError::new("E_KV_KEY", "the key is empty"));
    assert_eq!(raised.code(), "E_KV_KEY");
    assert_eq!(scope.raised_in(fake), None);
    assert_eq!(
        scope.raised_in("Error: E_KV_KEY: the key is empty, at handle (notes.js:12:5)"),
        Some(raised)
    );
    // The list is bounded: the oldest go first.
    for i in 0..20 {
        scope.record(vmpool::HostError::new("E_X", format!("error {i}")));
    }
    assert_eq!(scope.raised_in("E_KV_KEY: the key is empty"), None);
    assert!(scope.raised_in("E_X: error 19").is_some());
}

#[test]
fn the_kv_store_keeps_json_values_per_handler_within_its_limits() {
    use server::kv::{KvLimits, KvStore};
    let limits = KvLimits {
        max_key_bytes: 8,
        max_value_bytes: 32,
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("kv.sqlite3");
    let wait = std::time::Duration::from_secs(1);
    {
        let store = KvStore::open(&path, limits).expect("the database opens");
        assert!(!store.is_temporary());
        store
            .set("a", "k", &serde_json::json!({ "n": [1, 2.5, null] }), wait)
            .expect("stored");
        assert_eq!(
            store.get("a", "k", wait),
            Ok(Some(serde_json::json!({ "n": [1, 2.5, null] })))
        );
        assert_eq!(
            store.get("b", "k", wait),
            Ok(None),
            "another handler's key space"
        );
        fn code<T>(result: Result<T, vmpool::HostError>) -> Option<String> {
            result.err().map(|e| e.code().to_owned())
        }
        assert_eq!(code(store.get("a", "", wait)).as_deref(), Some("E_KV_KEY"));
        assert_eq!(
            code(store.set("a", "123456789", &serde_json::json!(1), wait)).as_deref(),
            Some("E_KV_KEY")
        );
        assert_eq!(
            code(store.set("a", "k", &serde_json::json!("x".repeat(40)), wait)).as_deref(),
            Some("E_KV_TOO_LARGE")
        );
    }
    // The data outlives the store: it is in the file.
    let store = KvStore::open(&path, limits).expect("the database opens again");
    assert_eq!(
        store.get("a", "k", wait),
        Ok(Some(serde_json::json!({ "n": [1, 2.5, null] })))
    );
    // A file that is not a database is refused at start-up, naming the file.
    let bogus = dir.path().join("bogus.sqlite3");
    std::fs::write(
        &bogus,
        "not a database, not at all, just text that is long enough",
    )
    .expect("written");
    let error = KvStore::open(&bogus, limits)
        .expect_err("not a database")
        .to_string();
    assert!(error.contains("bogus.sqlite3"), "{error}");
    // A temporary store removes its folder when dropped.
    let temporary = KvStore::temporary(KvLimits::default()).expect("a temporary database");
    let folder = temporary.path().parent().expect("a folder").to_owned();
    assert!(temporary.is_temporary() && folder.exists());
    drop(temporary);
    assert!(!folder.exists(), "{} is removed", folder.display());
}

#[test]
fn status_codes_follow_the_error_kind() {
    use server::status_for;
    assert_eq!(status_for(ErrorKind::Timeout), StatusCode::GATEWAY_TIMEOUT);
    for kind in [
        ErrorKind::Exception,
        ErrorKind::Memory,
        ErrorKind::Stack,
        ErrorKind::Conversion,
        ErrorKind::Syntax,
    ] {
        assert_eq!(status_for(kind), StatusCode::UNPROCESSABLE_ENTITY, "{kind}");
    }
    assert_eq!(
        status_for(ErrorKind::Exhausted),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status_for(ErrorKind::Closed),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status_for(ErrorKind::Internal),
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[test]
fn flags_parse() {
    let args = server::Args::parse(
        [
            "--config",
            "c.toml",
            "--scripts=dir",
            "--listen",
            "127.0.0.1:0",
            "--engine",
            "lua",
        ]
        .map(String::from),
    )
    .expect("valid flags");
    assert_eq!(args.config, Path::new("c.toml"));
    assert_eq!(args.scripts, Path::new("dir"));
    assert_eq!(args.listen, "127.0.0.1:0");
    assert_eq!(args.engine.as_deref(), Some("lua"));
    assert_eq!(args.db, None, "a temporary database unless --db names one");
    let args = server::Args::parse(["--db=/tmp/kv.sqlite3".to_owned()]).expect("valid flags");
    assert_eq!(args.db.as_deref(), Some(Path::new("/tmp/kv.sqlite3")));
    let error = server::Args::parse(["--listen".to_owned()]).expect_err("missing value");
    assert!(error.contains("--listen needs a value"), "{error}");
    let error =
        server::Args::parse(["--port".to_owned(), "1".to_owned()]).expect_err("unknown flag");
    assert!(error.contains("--port"), "{error}");
}

#[cfg(feature = "quickjs")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickjs_server() {
    live::exercise::<vmpool::quickjs::QuickJsEngine>().await;
}

#[cfg(feature = "lua")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_server() {
    live::exercise::<vmpool::lua::LuaEngine>().await;
}

#[cfg(feature = "quickjs")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickjs_hot_reload() {
    live::hot_reload::<vmpool::quickjs::QuickJsEngine>().await;
}

#[cfg(feature = "lua")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_hot_reload() {
    live::hot_reload::<vmpool::lua::LuaEngine>().await;
}

#[cfg(feature = "boa")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boa_hot_reload() {
    live::hot_reload::<vmpool::Carrier<vmpool::boa::BoaEngine>>().await;
}

#[test]
fn the_admin_endpoint_answers_loopback_clients_only() {
    let allowed = |a: &str| server::admin_allowed(&a.parse().unwrap());
    assert!(allowed("127.0.0.1:1") && allowed("[::1]:1") && allowed("[::ffff:127.0.0.1]:1"));
    assert!(!allowed("10.0.0.1:1") && !allowed("[2001:db8::1]:1") && !allowed("0.0.0.0:1"));
}

#[cfg(feature = "boa")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boa_server() {
    live::exercise::<vmpool::Carrier<vmpool::boa::BoaEngine>>().await;
}
