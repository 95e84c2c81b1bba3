//! The contracts as descriptors: compiled from a `proto/` directory with protox (as `build.rs`
//! compiles them, minus source info) or read back from a baseline image.
//!
//! Every `.proto` under the directory is compiled, not only the files `build.rs` names, so a
//! file added to `proto/` is part of the contract the moment it is committed. Comments live in
//! source info, which is left out: editing a comment never changes a baseline.

use std::path::{Path, PathBuf};

use prost_reflect::DescriptorPool;

use super::ContractError;

/// One version of the contracts: the encoded descriptor set (with imports, without source
/// info) and the pool built from exactly those bytes.
#[derive(Debug, Clone)]
pub struct Contracts {
    /// Descriptors of every file, extension options included.
    pub pool: DescriptorPool,
    /// The `FileDescriptorSet` the pool was built from: what a baseline stores.
    pub encoded: Vec<u8>,
}

impl Contracts {
    /// Contracts read back from an encoded `FileDescriptorSet` (a baseline image).
    pub fn from_image(encoded: Vec<u8>, path: &Path) -> Result<Self, ContractError> {
        let pool = DescriptorPool::decode(encoded.as_slice())
            .map_err(|e| ContractError::malformed(path, format!("not a descriptor set: {e}")))?;
        Ok(Self { pool, encoded })
    }
}

/// Compiles every `.proto` file under `proto_dir` (the include root, as for `build.rs`).
pub fn compile_dir(proto_dir: &Path) -> Result<Contracts, ContractError> {
    let mut names = Vec::new();
    collect_protos(proto_dir, Path::new(""), &mut names)?;
    names.sort();
    if names.is_empty() {
        return Err(ContractError::malformed(proto_dir, "no .proto files"));
    }
    let encoded = protox::Compiler::new([proto_dir])
        .and_then(|mut compiler| {
            compiler.include_imports(true);
            compiler.open_files(&names)?;
            Ok(compiler.encode_file_descriptor_set())
        })
        .map_err(|e| ContractError::Compile(e.to_string()))?;
    Contracts::from_image(encoded, proto_dir)
}

/// File names relative to the include root (`causeway/orders/v1/orders.proto`), in any order.
fn collect_protos(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ContractError> {
    let here = root.join(dir);
    let entries = std::fs::read_dir(&here).map_err(ContractError::io(&here))?;
    for entry in entries {
        let entry = entry.map_err(ContractError::io(&here))?;
        let relative = dir.join(entry.file_name());
        let kind = entry.file_type().map_err(ContractError::io(entry.path()))?;
        if kind.is_dir() {
            collect_protos(root, &relative, out)?;
        } else if relative.extension().is_some_and(|e| e == "proto") {
            out.push(relative);
        }
    }
    Ok(())
}
