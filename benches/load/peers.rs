//! The two servers under load, each a process of its own: querybot's release binary (`serve`)
//! and the Bolt app under uvicorn; and what `/proc` says of them (peak RSS, CPU time).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fakes::FakeSlack;

/// The signing secret both servers check requests against.
pub(crate) const SIGNING_SECRET: &str = "bench-signing-secret";
const BOT_TOKEN: &str = "xoxb-bench";

/// Where Bolt for Python comes from when `BOLT_PYTHON` names no interpreter: a virtualenv made
/// once, with these versions from PyPI.
const BOLT_PACKAGES: &[&str] = &[
    "slack-bolt==1.30.0",
    "slack-sdk==3.48.0",
    "uvicorn==0.55.0",
    "aiohttp==3.14.5",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Querybot,
    Bolt,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Querybot => "querybot serve",
            Kind::Bolt => "Bolt for Python (uvicorn)",
        }
    }
}

/// A server process, killed when dropped.
pub(crate) struct Server {
    child: std::process::Child,
    /// Where signed slash commands go.
    pub(crate) commands_url: String,
    /// From the process started to its first HTTP answer.
    pub(crate) start_up: Duration,
}

/// What the fakes and the warehouse are, for every server of a run.
pub(crate) struct Setting<'a> {
    pub(crate) slack: &'a FakeSlack,
    pub(crate) llm_url: &'a str,
    pub(crate) warehouse: &'a Path,
    pub(crate) work: &'a Path,
}

impl Server {
    pub(crate) async fn start(kind: Kind, setting: &Setting<'_>, python: Option<&Path>) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let common = [
            ("SLACK_API_URL", setting.slack.api_url.clone()),
            ("SLACK_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_owned()),
            ("LLM_PROVIDER", "openai".to_owned()),
            ("LLM_API_KEY", "bench".to_owned()),
            ("LLM_BASE_URL", setting.llm_url.to_owned()),
            ("LLM_MODEL", "bench".to_owned()),
            ("PATH", std::env::var("PATH").unwrap_or_default()),
        ];
        let (mut command, commands_url) = match kind {
            Kind::Querybot => {
                let data = tempfile::tempdir_in(setting.work).expect("a data folder");
                let data = data.keep();
                let mut command = Command::new(env!("CARGO_BIN_EXE_querybot"));
                command
                    .env_clear()
                    .arg("serve")
                    .current_dir(&data)
                    .env("QUERYBOT_LISTEN", format!("127.0.0.1:{port}"))
                    .env("QUERYBOT_DATA_DIR", &data)
                    .env(
                        "DATABASE_URL",
                        format!("sqlite://{}/store.db", data.display()),
                    )
                    .env(
                        "WAREHOUSE_URL",
                        format!("sqlite://{}", setting.warehouse.display()),
                    )
                    // The benchmark's askers are many people in one workspace; the fair-use
                    // limits would refuse most of them.
                    .env("QUERYBOT_LIMIT_QUESTIONS", "0")
                    .env("QUERYBOT_LIMIT_WORKSPACE_QUESTIONS", "0")
                    .env("QUERYBOT_LOG", "warn");
                (command, format!("http://127.0.0.1:{port}/slack/commands"))
            }
            Kind::Bolt => {
                let python = python.expect("a Python with Bolt");
                let mut command = Command::new(python);
                command
                    .env_clear()
                    .args(["-m", "uvicorn", "--app-dir"])
                    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/load"))
                    .args(["bolt_ask:api", "--host", "127.0.0.1", "--port"])
                    .arg(port.to_string())
                    .args(["--log-level", "warning", "--no-access-log"])
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                (command, format!("http://127.0.0.1:{port}/slack/events"))
            }
        };
        let started = Instant::now();
        let child = command
            .envs(common)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", kind.name()));
        let mut server = Server {
            child,
            commands_url,
            start_up: Duration::ZERO,
        };
        // Up when it answers HTTP at all (an unsigned request is refused, which is enough).
        let deadline = Instant::now() + Duration::from_secs(60);
        let http = reqwest::Client::new();
        while http.get(&server.commands_url).send().await.is_err() {
            assert!(Instant::now() < deadline, "{} did not come up", kind.name());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.start_up = started.elapsed();
        server
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak resident memory so far (`VmHWM`), in KB.
pub(crate) fn peak_rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:")
}

/// Resident memory now (`VmRSS`), in KB.
pub(crate) fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

/// User plus system CPU time the process has used.
pub(crate) fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the command name, which is in parentheses: utime and stime are the 12th
    // and 13th, in clock ticks (100 a second on Linux).
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}

/// A Python that imports Bolt and uvicorn: `BOLT_PYTHON`, or a virtualenv made once under
/// `target/`. An error saying why when neither can be had, or `BOLT_PYTHON` is set empty
/// (querybot alone is measured then).
pub(crate) fn bolt_python() -> Result<PathBuf, String> {
    match std::env::var_os("BOLT_PYTHON") {
        Some(python) if python.is_empty() => return Err("BOLT_PYTHON is empty".to_owned()),
        Some(python) => return Ok(PathBuf::from(python)),
        None => {}
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-bolt-venv");
    let python = venv.join("bin/python");
    let imports = |python: &Path| {
        Command::new(python)
            .args(["-c", "import slack_bolt, uvicorn, aiohttp"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if imports(&python) {
        return Ok(python);
    }
    eprintln!("making {} with {}", venv.display(), BOLT_PACKAGES.join(" "));
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(BOLT_PACKAGES)
            .status()
            .is_ok_and(|s| s.success());
    if made && imports(&python) {
        Ok(python)
    } else {
        Err(format!(
            "could not make a virtualenv with {} at {}",
            BOLT_PACKAGES.join(" "),
            venv.display()
        ))
    }
}
