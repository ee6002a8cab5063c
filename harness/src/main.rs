use clap::Parser;

fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    // Colour only for a person at a terminal: a log in a file or a pipe stays plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HABENCH_LOG").unwrap_or_else(|_| "habench=info".into()),
        )
        .init();
    let cli = habench::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(habench::commands::run(cli));
    drop(runtime);
    let status = habench::commands::exit_status(&result);
    match (&result, status) {
        (Ok(()), _) => {}
        (Err(e), 2) => eprintln!("error: {}", habench::commands::error_line(e)),
        (Err(e), _) => eprintln!("habench: {e}"),
    }
    std::process::ExitCode::from(status)
}
