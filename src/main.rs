//! The `wxcheckout` command: parse the command line, load configuration, start logging,
//! build the app with the library and launch it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wxcheckout::app;
use wxcheckout::config::{Config, LogFormat, Overrides};

/// The allocator: mimalloc gives memory back to the system after a burst, where glibc's
/// malloc kept what sled's write path had used (RSS grew by 100–200 MB over a benchmark run
/// and stayed there; docs/performance.md). Built without transparent huge pages (`no_thp` in
/// Cargo.toml): with them an idle, empty shop held 62–75 MB, 2 MiB pages backing a few bytes.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "wxcheckout", version, about = "A shop and checkout for WeChat Pay, in one binary")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Common {
    /// Port to listen on (overrides `port` in the configuration)
    #[arg(long)]
    port: Option<u16>,
    /// Configuration file (default: ./wxcheckout.toml when present)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log lines for a person (text) or a collector (one JSON object a line); overrides
    /// `log_format` in the configuration
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the shop (in sandbox mode unless `wxpay.mode = "live"`)
    Serve(Common),
    /// Run the WeChat Pay sandbox gateway alone
    Sandbox(Common),
    /// Check the configuration (file, WXCHECKOUT_* variables) as `serve` would read it: prints
    /// the settings in effect with secrets masked, or every problem naming its key. Exit 0
    /// when `serve` would accept it, 1 when not. Run it before a restart.
    CheckConfig {
        /// Configuration file (default: ./wxcheckout.toml when present)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Back up the shop's data to FILE while it runs (asked of the server through
    /// `data_dir/control.sock`), or from its data directory when it is stopped. The file
    /// appears only whole and checked; `-` writes to standard output.
    Backup {
        /// Where to write the backup (`-`: standard output)
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Restore a backup into a data directory no server runs on. A database already there
    /// is moved aside to `db.before-restore-…`, never removed.
    Restore {
        /// The backup file
        file: PathBuf,
        #[command(flatten)]
        place: Place,
    },
    /// Read every record of the data directory (through the running server, or directly
    /// when it is stopped) and report counts and problems; or, with --backup, check a backup
    /// file through to its end. Exit 0 when sound, 1 when not.
    Verify {
        /// Check this backup file instead of the data directory
        #[arg(long, value_name = "FILE")]
        backup: Option<PathBuf>,
        #[command(flatten)]
        place: Place,
    },
    /// Administration from the shell (the shop must be stopped)
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// Which data directory: given, or the configuration's `data_dir`.
#[derive(clap::Args)]
struct Place {
    /// The data directory (default: `data_dir` of the configuration)
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Configuration file (default: ./wxcheckout.toml when present)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

impl Place {
    fn data_dir(&self) -> Result<PathBuf, String> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => load(&Common { port: None, config: self.config.clone(), log_format: None })
                .map(|c| c.data_dir)
                .map_err(|e| format!("{e} (or name the directory with --data-dir)")),
        }
    }
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Change the admin password: reads it from standard input (asks twice on a terminal),
    /// never from the command line, and stores only its argon2 hash in the data directory.
    /// Stop `wxcheckout serve` first: the database can be open in one process only. Every
    /// signed-in session ends. Refused when `[admin] password` is configured (it wins).
    SetPassword {
        /// Read the password from standard input without asking (for scripts): the first line
        #[arg(long)]
        password_stdin: bool,
        /// Configuration file (default: ./wxcheckout.toml when present)
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

fn load(common: &Common) -> Result<Config, String> {
    Config::load(common.config.as_deref(), &Overrides { port: common.port }).map_err(|e| e.to_string())
}

/// Our own messages at info; Rocket's per-request chatter only when it is an error.
const DEFAULT_LOG: &str = "warn,wxcheckout=info,rocket=error";

#[rocket::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(c) => serve(&c).await,
        Command::Sandbox(c) => sandbox(&c).await,
        Command::CheckConfig { config } => return check_config(config.as_deref()),
        Command::Backup { to, place } => {
            say(place.data_dir().and_then(|dir| wxcheckout::ops::backup(&dir, &to)))
        }
        Command::Restore { file, place } => {
            say(place.data_dir().and_then(|dir| wxcheckout::ops::restore(&file, &dir)))
        }
        Command::Verify { backup, place } => {
            return match place.data_dir().and_then(|dir| wxcheckout::ops::verify(&dir, backup.as_ref())) {
                Ok(v) => {
                    println!("{}", v.text);
                    if v.sound { ExitCode::SUCCESS } else { ExitCode::FAILURE }
                }
                Err(e) => {
                    eprintln!("wxcheckout: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Admin(AdminCommand::SetPassword { password_stdin, config }) => {
            init_logging(LogFormat::Text);
            set_password(config, password_stdin).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wxcheckout: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A command's one-line outcome on standard error (standard output may carry a backup).
fn say(result: Result<String, String>) -> Result<(), String> {
    result.map(|said| eprintln!("{said}"))
}

/// `wxcheckout check-config`: the settings in effect, or every problem; nothing is started.
fn check_config(file: Option<&std::path::Path>) -> ExitCode {
    let source = match file {
        Some(f) => f.display().to_string(),
        None if std::path::Path::new("wxcheckout.toml").is_file() => "./wxcheckout.toml".to_owned(),
        None => "no file (defaults)".to_owned(),
    };
    println!("configuration: {source}, then WXCHECKOUT_* variables");
    match Config::check(file, &Overrides::default()) {
        Ok(config) => {
            for (key, value) in config.describe() {
                println!("  {key} = {value}");
            }
            println!("ok: `wxcheckout serve` accepts this configuration");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                println!("problem: {p}");
            }
            println!("{} problem(s): `wxcheckout serve` would refuse to start", problems.len());
            ExitCode::FAILURE
        }
    }
}

/// Logging to standard output, as `format` says, filtered by `RUST_LOG` (else `DEFAULT_LOG`).
fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_target(false);
    match format {
        // why flattened: `message` and the fields at the top level, as collectors expect.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).init(),
        // why: colour codes only for a person at a terminal, not in journald or a log file.
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())).init(),
    }
}

/// The configuration, then logging in the format it (or the command line) asks for.
fn load_and_log(common: &Common) -> Result<Config, String> {
    let config = load(common);
    let format = common.log_format.or(config.as_ref().ok().map(|c| c.log_format)).unwrap_or_default();
    init_logging(format);
    config
}

async fn serve(common: &Common) -> Result<(), String> {
    let config = load_and_log(common)?;
    warn_if_exposed(&config);
    let mode = if config.is_sandbox() { "sandbox (no real money)" } else { "live" };
    let rocket = app::shop(config).map_err(|e| e.to_string())?;
    run(rocket, &format!("shop, {mode}")).await
}

async fn sandbox(common: &Common) -> Result<(), String> {
    let config = load_and_log(common)?;
    warn_if_exposed(&config);
    run(app::sandbox_only(config), "WeChat Pay sandbox").await
}

/// The configuration refuses a sandbox on the network unless `allow_sandbox_on_network`; when
/// it is allowed, say at every start what that means.
fn warn_if_exposed(config: &Config) {
    if config.sandbox_exposed() {
        tracing::warn!(
            address = %config.address,
            "sandbox mode open to the network (allow_sandbox_on_network): anyone who can reach this \
             address can sign a payment notification with the public sandbox key and mark orders paid"
        );
    }
}

async fn run(rocket: rocket::Rocket<rocket::Build>, what: &str) -> Result<(), String> {
    let running = app::spawn(rocket).await.map_err(|e| e.to_string())?;
    tracing::info!("{what} listening on {}", running.base_url());
    match running.join.await {
        Ok(Ok(rocket)) => {
            app::finish(&rocket).await;
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("server task failed: {e}")),
    }
}

async fn set_password(config: Option<PathBuf>, from_stdin: bool) -> Result<(), String> {
    let config = load(&Common { port: None, config, log_format: None })?;
    let password = read_password(from_stdin)?;
    wxcheckout::admin::password::set_offline(&config, &password).await.map_err(|e| e.to_string())?;
    eprintln!("The admin password is changed; every session has ended.");
    Ok(())
}

/// The new password from standard input: the first line as it is piped in, or typed twice at
/// a terminal with echo off.
fn read_password(from_stdin: bool) -> Result<String, String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    let read_line = || -> Result<String, String> {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| format!("reading standard input: {e}"))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    if from_stdin || !stdin.is_terminal() {
        return read_line();
    }
    let _echo_off = EchoOff::new();
    eprint!("New admin password: ");
    let first = read_line()?;
    eprint!("\nAgain: ");
    let second = read_line()?;
    eprintln!();
    if first != second {
        return Err("the two passwords differ; nothing was changed".into());
    }
    Ok(first)
}

/// Turns the terminal's echo off while a password is typed (restored on drop).
///
/// why `stty`: it is on every Unix the shop runs on, and spares a crate for one prompt; when
/// it is missing, the password is read with echo (the prompt still works).
struct EchoOff(bool);

impl EchoOff {
    fn new() -> EchoOff {
        EchoOff(stty("-echo"))
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if self.0 {
            stty("echo");
        }
    }
}

fn stty(arg: &str) -> bool {
    std::process::Command::new("stty")
        .arg(arg)
        .stdin(std::process::Stdio::inherit())
        .status()
        .is_ok_and(|s| s.success())
}
