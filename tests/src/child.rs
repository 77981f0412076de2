//! Running a test body in a child process, for cases that could take the process down (a native stack overflow or
//! a failed allocation aborts; Rust cannot catch either) or hang it.
//!
//! The test re-executes its own test binary with `--exact <test> --nocapture` and an environment variable naming the
//! test; in the child the variable is set, so the body runs there and prints [`CHILD_OK`] when it returns. The parent
//! asserts on the child's exit status and output, so an abort is reported as a test failure with the child's
//! output instead of ending the suite.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that tells a re-executed test binary which test body to run.
pub const CHILD_ENV: &str = "VMPOOL_CHILD_TEST";

/// What a child prints after its body returned.
pub const CHILD_OK: &str = "vmpool-child-ok";

/// How a child run ended.
#[derive(Debug)]
pub struct ChildRun {
    /// Exit code, `None` if a signal ended it (an abort is `SIGABRT`) or it was killed at the time limit.
    pub code: Option<i32>,
    /// Whether the parent killed it at the time limit.
    pub killed: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

impl ChildRun {
    /// Whether the body ran to its end and the process exited normally.
    pub fn ok(&self) -> bool {
        self.code == Some(0) && !self.killed && self.stdout.contains(CHILD_OK)
    }

    /// The last lines of the child's output, for failure messages.
    pub fn tail(&self) -> String {
        let all = format!("{}\n{}", self.stdout, self.stderr);
        let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// The libtest name of a test function whose path is `module_path` (as given by `module_path!()`) and `name`:
/// the module path without the crate's name.
pub fn test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, rest)) => format!("{rest}::{name}"),
        None => name.to_owned(),
    }
}

/// Whether this process is the child running `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == test)
}

/// Runs `body` in a child process (see the [module docs](self)) and returns how the child ended; in the child,
/// runs `body` and prints [`CHILD_OK`]. The child is killed after `limit`.
///
/// # Panics
/// When the test binary cannot be re-executed.
pub fn run_in_child(test: &str, limit: Duration, body: impl FnOnce()) -> Option<ChildRun> {
    if is_child(test) {
        body();
        println!("{CHILD_OK}");
        return None;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("re-execute the test binary");
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let reader_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let reader_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut killed = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            killed = true;
            break child.wait().expect("wait for the killed child");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(ChildRun {
        code: status.code(),
        killed,
        stdout: reader_out.join().unwrap_or_default(),
        stderr: reader_err.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    })
}

/// Runs `body` in a child process and asserts that it ran to its end: no abort, no crash, no hang past `limit`.
///
/// # Panics
/// When the child did not end normally; the message has the child's exit status and last output lines.
pub fn assert_survives(test: &str, limit: Duration, body: impl FnOnce()) {
    if let Some(run) = run_in_child(test, limit, body) {
        // The child's own report lines (figures), for `--nocapture` runs.
        for line in run.stdout.lines() {
            // libtest prints "test <name> ... " and the result around the body's own output.
            let line = match line.split_once(" ... ") {
                Some((head, rest)) if head.starts_with("test ") => rest,
                _ => line,
            };
            let harness = line.starts_with("running ")
                || line.starts_with("test result")
                || matches!(line.trim(), "ok" | "FAILED" | "")
                || line.contains(CHILD_OK);
            if !harness {
                println!("{line}");
            }
        }
        assert!(
            run.ok(),
            "{test}: the child process did not survive (exit code {:?}, killed at the {limit:?} limit: {}, after {:?}):\n{}",
            run.code,
            run.killed,
            run.elapsed,
            run.tail()
        );
    }
}
