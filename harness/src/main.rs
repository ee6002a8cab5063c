use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HABENCH_LOG").unwrap_or_else(|_| "habench=info".into()),
        )
        .init();
    let cli = habench::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(habench::commands::run(cli));
    drop(runtime);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<habench::commands::Regressed>().is_some() => {
            eprintln!("habench: {e}");
            std::process::ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {}", habench::commands::error_line(&e));
            std::process::ExitCode::from(2)
        }
    }
}
