//! Compiles `reseolio.proto` with protox (pure Rust, so no `protoc` binary is needed) and
//! generates the messages, client and server with tonic-prost-build. The descriptor set is kept
//! for gRPC server reflection.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=reseolio.proto");
    let fds = protox::compile(["reseolio.proto"], ["."])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("reseolio_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
