//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` in a temporary folder,
//! started on a free loopback port, stopped and removed when dropped. It uses Debian's
//! server binaries (`/usr/lib/postgresql/<version>/bin`, or `ROLLCALL_PG_BIN`); `./test`
//! installs them. As root, the server runs as the `postgres` user (initdb refuses root).
//!
//! With `ROLLCALL_TEST_DATABASE_URL` set, no cluster is started: databases are created on
//! that server instead (restarts are then not possible).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Whether the server may lose the last commits on a crash (faster set-up for tests that do
/// not crash it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on, as in production: for crash tests and benchmarks.
    Durable,
    /// fsync and synchronous commit off.
    Fast,
}

pub struct TestCluster {
    dir: Option<tempfile::TempDir>,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    external: Option<String>,
    log: PathBuf,
}

static DATABASES: AtomicUsize = AtomicUsize::new(0);

impl TestCluster {
    /// Starts a new cluster (or uses `ROLLCALL_TEST_DATABASE_URL`'s server).
    pub fn start(durability: Durability) -> Result<Self, String> {
        Self::start_with(durability, false)
    }

    /// A new cluster that also accepts TLS, with a certificate for 127.0.0.1 and localhost
    /// signed by a throwaway certificate authority ([`ca_file`](Self::ca_file)). Needs the
    /// `openssl` program.
    pub fn start_with_tls(durability: Durability) -> Result<Self, String> {
        Self::start_with(durability, true)
    }

    /// The certificate authority a TLS cluster's certificate is signed by (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir().join("ca.crt")
    }

    fn start_with(durability: Durability, tls: bool) -> Result<Self, String> {
        if let Ok(url) = std::env::var("ROLLCALL_TEST_DATABASE_URL") {
            return Ok(Self {
                dir: None,
                bin: PathBuf::new(),
                port: 0,
                as_postgres: false,
                external: Some(url),
                log: PathBuf::new(),
            });
        }
        let bin = server_bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("rollcall-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        let cluster = Self {
            log: dir.path().join("server.log"),
            dir: Some(dir),
            bin,
            port: free_port()?,
            as_postgres,
            external: None,
        };
        cluster.pg(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "rollcall".as_ref(),
                "--no-sync".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
            ],
        )?;
        let mut settings = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\nmax_connections = 200\n",
            cluster.port,
            cluster.dir().display()
        );
        if durability == Durability::Fast {
            settings.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        if tls {
            cluster.make_certificates(&data)?;
            settings
                .push_str("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        }
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
        text.push_str(&settings);
        std::fs::write(&conf, text).map_err(|e| e.to_string())?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// A CA and a server certificate signed by it, the server's in the data folder.
    fn make_certificates(&self, data: &Path) -> Result<(), String> {
        let dir = self.dir();
        throwaway_certificates(dir)?;
        for file in ["server.crt", "server.key"] {
            std::fs::copy(dir.join(file), data.join(file)).map_err(|e| e.to_string())?;
        }
        run(Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")))?;
        if self.as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(data.join("server.crt"))
                .arg(data.join("server.key")))?;
        }
        Ok(())
    }

    fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("a local cluster has a folder")
            .path()
    }

    fn data(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// Runs one of the server's programs (as `postgres` when we are root).
    fn pg(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<Output, String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command.args(args);
        run(&mut command)
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<Output, String> {
        let data = self.data();
        let mut all: Vec<&std::ffi::OsStr> = vec!["-D".as_ref(), data.as_os_str()];
        all.push("-l".as_ref());
        all.push(self.log.as_os_str());
        all.extend(args.iter().map(|a| std::ffi::OsStr::new(*a)));
        self.pg("pg_ctl", &all)
    }

    fn start_server(&self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-t", "30", "start"]).map(drop)
    }

    /// Stops the server at once, as a crash would (`-m immediate`).
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]).map(drop)
    }

    /// Starts it again after [`stop`](Self::stop).
    pub fn start_again(&self) -> Result<(), String> {
        self.start_server()
    }

    /// `pg_ctl restart -m fast`: every connection is dropped, the server comes back.
    pub fn restart(&self) -> Result<(), String> {
        self.pg_ctl(&["-w", "-t", "30", "-m", "fast", "restart"])
            .map(drop)
    }

    /// The address of the cluster's maintenance database.
    fn admin_url(&self) -> String {
        match &self.external {
            Some(url) => url.clone(),
            None => format!("postgres://rollcall@127.0.0.1:{}/postgres", self.port),
        }
    }

    /// Creates a new empty database and returns its address.
    pub fn create_database(&self) -> Result<String, String> {
        let name = format!(
            "rollcall_test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(&self.admin_url(), postgres::NoTls)
            .map_err(|e| format!("cannot reach the test server: {e}"))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| e.to_string())?;
        Ok(match &self.external {
            Some(url) => replace_database(url, &name),
            None => format!("postgres://rollcall@127.0.0.1:{}/{name}", self.port),
        })
    }

    /// The server's log so far, for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The port it listens on (0 for an external server).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder of its programs (`psql` is usually on PATH; `pg_ctl` is here).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if self.dir.is_some() {
            let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    format!("{prefix}/{name}{query}")
}

fn server_bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("ROLLCALL_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| no_server())?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(no_server)
}

fn no_server() -> String {
    "PostgreSQL's server programs are not installed (Debian package `postgresql`; ./test \
     installs it), and ROLLCALL_TEST_DATABASE_URL is not set"
        .into()
}

/// The files [`throwaway_certificates`] makes.
#[derive(Debug, Clone)]
pub struct ThrowawayCertificates {
    /// The certificate authority a client is told to trust.
    pub ca: PathBuf,
    /// The server's certificate, for `localhost` and `127.0.0.1`, signed by `ca`.
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A throwaway certificate authority and a server certificate for `localhost` and
/// `127.0.0.1` signed by it, made in `dir` with the openssl program (valid two days), for
/// tests of TLS against servers run on loopback: PostgreSQL here, the digest's mail server.
pub fn throwaway_certificates(dir: &Path) -> Result<ThrowawayCertificates, String> {
    let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Rollcall test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ])?;
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ])?;
    Ok(ThrowawayCertificates {
        ca: dir.join("ca.crt"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn run(command: &mut Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("{command:?} could not start: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_external_server_gets_a_database_of_its_own() {
        assert_eq!(
            super::replace_database("postgres://u@h:5/main?sslmode=require", "t1"),
            "postgres://u@h:5/t1?sslmode=require"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "t1"),
            "postgres://u@h/t1"
        );
    }
}
