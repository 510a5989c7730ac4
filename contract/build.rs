//! Expands `schemas.toml` + `topology.toml` into Rust types and the topic catalogue.
//! A malformed file fails the build with a message naming the file, the record and the problem.

#[path = "build/emit.rs"]
mod emit;
#[path = "build/model.rs"]
mod model;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    const SCHEMAS: &str = "schemas.toml";
    const TOPOLOGY: &str = "topology.toml";
    for file in [SCHEMAS, TOPOLOGY, "build/model.rs", "build/emit.rs"] {
        println!("cargo:rerun-if-changed={file}");
    }
    let read = |file: &str| std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"));
    let result = read(SCHEMAS).and_then(|schemas| {
        let topology = read(TOPOLOGY)?;
        model::Model::parse(SCHEMAS, &schemas, TOPOLOGY, &topology).map_err(|e| e.to_string())
    });
    let model = match result {
        Ok(model) => model,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let Some(out_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        eprintln!("error: OUT_DIR is not set (build.rs runs under cargo)");
        return ExitCode::FAILURE;
    };
    if let Err(e) = std::fs::write(out_dir.join("generated.rs"), emit::rust_source(&model)) {
        eprintln!("error: writing generated.rs: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
