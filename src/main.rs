//! The `wxcheckout` command: parse the command line, load configuration, start logging,
//! build the app with the library and launch it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wxcheckout::app;
use wxcheckout::config::{Config, Overrides};

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
}

#[derive(Subcommand)]
enum Command {
    /// Run the shop (in sandbox mode unless `wxpay.mode = "live"`)
    Serve(Common),
    /// Run the WeChat Pay sandbox gateway alone
    Sandbox(Common),
}

fn load(common: &Common) -> Result<Config, String> {
    Config::load(common.config.as_deref(), &Overrides { port: common.port }).map_err(|e| e.to_string())
}

/// Our own messages at info; Rocket's per-request chatter only when it is an error.
const DEFAULT_LOG: &str = "warn,wxcheckout=info,rocket=error";

#[rocket::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::Serve(c) => serve(&c).await,
        Command::Sandbox(c) => sandbox(&c).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wxcheckout: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(common: &Common) -> Result<(), String> {
    let config = load(common)?;
    let mode = if config.is_sandbox() { "sandbox (no real money)" } else { "live" };
    let rocket = app::shop(config).map_err(|e| e.to_string())?;
    run(rocket, &format!("shop, {mode}")).await
}

async fn sandbox(common: &Common) -> Result<(), String> {
    let config = load(common)?;
    run(app::sandbox_only(config), "WeChat Pay sandbox").await
}

async fn run(rocket: rocket::Rocket<rocket::Build>, what: &str) -> Result<(), String> {
    let running = app::spawn(rocket).await.map_err(|e| e.to_string())?;
    tracing::info!("{what} listening on {}", running.base_url());
    match running.join.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("server task failed: {e}")),
    }
}
