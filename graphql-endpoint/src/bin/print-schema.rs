//! The endpoint's schema as SDL, without Kafka: printed, or written over the checked-in
//! `graphql-endpoint/schema.graphql` that the web app's types and refusal texts are generated
//! from. A unit test fails while that file differs from the schema the server serves.
//!
//! ```sh
//! cargo run -p graphql-endpoint --bin print-schema -- --write
//! ```

use anyhow::Context;
use clap::Parser;
use graphql_endpoint::schema::{sdl, SDL_FILE};

#[derive(Debug, Parser)]
#[command(
    name = "print-schema",
    about = "Prints the endpoint's schema (SDL), or writes it to graphql-endpoint/schema.graphql"
)]
struct Args {
    /// Write graphql-endpoint/schema.graphql instead of printing.
    #[arg(long)]
    write: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sdl = sdl();
    if args.write {
        std::fs::write(SDL_FILE, &sdl).with_context(|| format!("writing {SDL_FILE}"))?;
        eprintln!("wrote {SDL_FILE}");
    } else {
        print!("{sdl}");
    }
    Ok(())
}
