//! The operation catalog compiled into the binary: the API description rolecall was built with,
//! reduced to method, path, permissions, scopes and 403 codes, and gzip-compressed
//! (`data/operations.json.gz`). It lets `explain` and ACC001 work on snapshots that carry no
//! catalog of their own (hand-written ones, or fetches that could not read `/api/v2/docs/swagger`).
//!
//! The file is regenerated from `tests/fixtures/swagger.json.gz` by
//! `ROLECALL_BLESS=YYYY-MM-DD cargo test --test it catalog::builtin` (the description's date),
//! and that test fails when the two drift apart.

use std::io::Read as _;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::model::Operation;

/// The format tag of the built-in catalog file.
pub const FORMAT: &str = "rolecall.catalog/1";

/// The compressed catalog, as committed.
const COMPRESSED: &[u8] = include_bytes!("../../data/operations.json.gz");

/// Largest decompressed size accepted for any gzip input (API descriptions are ~25 MB today):
/// a small hostile file must not expand into all of memory.
pub const MAX_DECOMPRESSED: u64 = 256 << 20;

/// A catalog with its provenance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuiltinCatalog {
    /// Always [`FORMAT`].
    pub format: String,
    /// What the operations were read from, in words.
    pub source: String,
    /// The date (`YYYY-MM-DD`) of the API description it was built from.
    pub date: String,
    /// The operations, sorted by path then method.
    pub operations: Vec<Operation>,
}

/// The built-in catalog, decompressed on first use.
///
/// Empty only if the committed file were corrupt, which a test rules out; callers then see an
/// empty catalog (every operation unknown), never a panic.
#[must_use]
pub fn builtin() -> &'static BuiltinCatalog {
    static CELL: OnceLock<BuiltinCatalog> = OnceLock::new();
    CELL.get_or_init(|| decode(COMPRESSED).unwrap_or_default())
}

/// Decode a compressed catalog file.
///
/// # Errors
/// A message when it is not gzip, not JSON of this shape, or of another format.
pub fn decode(compressed: &[u8]) -> Result<BuiltinCatalog, String> {
    let bytes = gunzip(compressed)?;
    let c: BuiltinCatalog =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a catalog: {e}"))?;
    if c.format != FORMAT {
        return Err(format!("catalog format `{}` is not `{FORMAT}`", c.format));
    }
    Ok(c)
}

/// Encode a catalog file (what `data/operations.json.gz` holds).
///
/// # Errors
/// Only if compression itself fails.
pub fn encode(catalog: &BuiltinCatalog) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let json = serde_json::to_vec(catalog).map_err(std::io::Error::other)?;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(&json)?;
    enc.finish()
}

/// Whether `bytes` start like a gzip stream.
#[must_use]
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Decompress gzip, refusing more than [`MAX_DECOMPRESSED`] bytes of output.
///
/// # Errors
/// A message for a broken stream or one that expands past the cap.
pub fn gunzip(compressed: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(compressed)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not a valid gzip file: {e}"))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(format!(
            "decompresses to more than {} MiB",
            MAX_DECOMPRESSED >> 20
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_catalog_decodes() {
        let c = decode(COMPRESSED).unwrap();
        assert!(c.operations.len() > 3000, "{}", c.operations.len());
        assert_eq!(c.date.len(), 10);
        assert!(!builtin().operations.is_empty());
    }

    #[test]
    fn round_trip_and_bad_input() {
        let c = BuiltinCatalog {
            format: FORMAT.into(),
            source: "test".into(),
            date: "2026-01-01".into(),
            operations: vec![Operation {
                method: "GET".into(),
                path: "/api/v2/x".into(),
                ..Operation::default()
            }],
        };
        assert_eq!(decode(&encode(&c).unwrap()).unwrap(), c);
        assert!(decode(b"not gzip").unwrap_err().contains("gzip"));
        let other = BuiltinCatalog {
            format: "x/9".into(),
            ..c
        };
        assert!(decode(&encode(&other).unwrap())
            .unwrap_err()
            .contains("format"));
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..=(MAX_DECOMPRESSED >> 20) {
            enc.write_all(&zeros).unwrap();
        }
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 1 << 20, "the bomb is small: {}", bomb.len());
        assert!(gunzip(&bomb).unwrap_err().contains("more than"));
    }
}
