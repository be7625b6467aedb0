//! The `quarry` binary: command-line interface and the HTTP server.

mod cli;
mod demo;
mod eval_cmd;
mod exit;
mod keyphrase_cmd;
mod link_cmd;
mod server;
mod wal;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    exit::init_tracing(args.verbose, args.quiet);
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            let code = exit::code_for(&e);
            eprintln!("error: {e:#}");
            code
        }
    };
    std::process::exit(code);
}
