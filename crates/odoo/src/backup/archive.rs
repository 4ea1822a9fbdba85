//! Opening a downloaded backup ZIP: every file is extracted while its size and SHA-256
//! are checked against the manifest, the dump is checked to be a plain SQL dump that
//! stays in its database, and the filestore tarball to hold only plain files and
//! directories below its root. A backup that fails any check is refused whole.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use super::manifest::{DUMP_FILE, FILESTORE_FILE, MANIFEST_FILE, Manifest, ManifestError};

/// Why a backup was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read the backup: {0}")]
    Io(String),
    #[error("the backup is not a valid ZIP archive: {0}")]
    Zip(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("the backup has no {0}")]
    MissingEntry(String),
    #[error("the backup holds {0:?}, which manifest.json does not list")]
    Unlisted(String),
    #[error("{name} is {actual} bytes, manifest.json says {expected}")]
    SizeMismatch {
        name: String,
        expected: u64,
        actual: u64,
    },
    #[error("{name} does not match its sha256 in manifest.json (corrupt or altered backup)")]
    DigestMismatch { name: String },
    #[error("dump.sql is not usable: {0}")]
    Dump(String),
    #[error("filestore.tar.gz is not usable: {0}")]
    Filestore(String),
}

fn io(e: std::io::Error) -> ArchiveError {
    ArchiveError::Io(e.to_string())
}

/// What the filestore tarball holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilestoreInfo {
    pub files: u64,
    pub bytes: u64,
    /// 1 when everything sits under one `filestore/` directory, else 0.
    pub strip_components: u32,
}

/// A backup that passed every check, extracted into a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBackup {
    pub manifest: Manifest,
    pub dump_path: PathBuf,
    pub filestore_path: PathBuf,
    pub filestore: FilestoreInfo,
}

/// Checks the ZIP at `zip_path` and extracts its files into `out_dir`. Blocking: run it
/// on a blocking thread.
pub fn check_and_extract(zip_path: &Path, out_dir: &Path) -> Result<CheckedBackup, ArchiveError> {
    let file = File::open(zip_path).map_err(io)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| ArchiveError::Zip(e.to_string()))?;

    let manifest = {
        let mut entry = zip
            .by_name(MANIFEST_FILE)
            .map_err(|_| ArchiveError::MissingEntry(MANIFEST_FILE.to_owned()))?;
        let mut bytes = Vec::new();
        entry
            .by_ref()
            .take(1 << 20)
            .read_to_end(&mut bytes)
            .map_err(|e| ArchiveError::Zip(e.to_string()))?;
        Manifest::parse(&bytes)?
    };

    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| ArchiveError::Zip(e.to_string()))?;
        let name = entry
            .name()
            .map_err(|e| ArchiveError::Zip(e.to_string()))?
            .into_owned();
        if entry.is_dir() || name == MANIFEST_FILE {
            continue;
        }
        if !manifest.files.contains_key(&name) {
            return Err(ArchiveError::Unlisted(name));
        }
    }

    std::fs::create_dir_all(out_dir).map_err(io)?;
    for (name, expected) in &manifest.files {
        let mut entry = zip
            .by_name(name)
            .map_err(|_| ArchiveError::MissingEntry(name.clone()))?;
        let dest = out_dir.join(name);
        let mut out = File::create(&dest).map_err(io)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| ArchiveError::Zip(format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > expected.size {
                return Err(ArchiveError::SizeMismatch {
                    name: name.clone(),
                    expected: expected.size,
                    actual: entry.size().max(total),
                });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io)?;
        }
        out.sync_all().map_err(io)?;
        if total != expected.size {
            return Err(ArchiveError::SizeMismatch {
                name: name.clone(),
                expected: expected.size,
                actual: total,
            });
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !digest.eq_ignore_ascii_case(&expected.sha256) {
            return Err(ArchiveError::DigestMismatch { name: name.clone() });
        }
    }

    let dump_path = out_dir.join(DUMP_FILE);
    let filestore_path = out_dir.join(FILESTORE_FILE);
    check_dump(&dump_path)?;
    let filestore = check_filestore(&filestore_path)?;
    Ok(CheckedBackup {
        manifest,
        dump_path,
        filestore_path,
        filestore,
    })
}

/// A plain-SQL dump that restores into the database psql is given: not a custom-format
/// archive, no `\connect` (a `--create` dump), no psql meta-command outside the ones
/// `pg_dump` writes (`\.` ending COPY data, `\restrict`/`\unrestrict`), so `\!` cannot
/// run a shell; no `OWNER TO` (a dump made without `--no-owner` names roles that do
/// not exist here).
pub fn check_dump(path: &Path) -> Result<(), ArchiveError> {
    let mut reader = BufReader::new(File::open(path).map_err(io)?);
    let mut line = Vec::new();
    let mut in_copy = false;
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line_no == 1 && line.starts_with(b"PGDMP") {
            return Err(ArchiveError::Dump(
                "it is a pg_dump custom-format archive; a plain SQL dump (pg_dump -Fp) is expected"
                    .into(),
            ));
        }
        let text = String::from_utf8_lossy(&line);
        let t = text.trim_end_matches(['\n', '\r']);
        if in_copy {
            if t == "\\." {
                in_copy = false;
            }
            continue;
        }
        if t.starts_with("COPY ") && t.ends_with("FROM stdin;") {
            in_copy = true;
            continue;
        }
        if let Some(meta) = t.strip_prefix('\\') {
            let cmd = meta.split_whitespace().next().unwrap_or("");
            if cmd == "connect" || cmd == "c" {
                return Err(ArchiveError::Dump(format!(
                    "line {line_no} switches database (a dump made with --create); make it without --create"
                )));
            }
            if !matches!(cmd, "restrict" | "unrestrict") {
                return Err(ArchiveError::Dump(format!(
                    "line {line_no} holds the psql command \\{cmd}, which a pg_dump never writes"
                )));
            }
        }
        if t.starts_with("ALTER ") && t.contains(" OWNER TO ") {
            return Err(ArchiveError::Dump(format!(
                "line {line_no} sets an object owner; make the dump with pg_dump --no-owner"
            )));
        }
    }
    if in_copy {
        return Err(ArchiveError::Dump(
            "it ends inside COPY data (truncated dump)".into(),
        ));
    }
    Ok(())
}

/// Lists the tarball: plain files and directories only, relative paths without `..`.
pub fn check_filestore(path: &Path) -> Result<FilestoreInfo, ArchiveError> {
    let bad = |m: String| ArchiveError::Filestore(m);
    let mut archive = tar::Archive::new(GzDecoder::new(File::open(path).map_err(io)?));
    let mut files = 0u64;
    let mut bytes = 0u64;
    let mut all_under_filestore = true;
    let mut any = false;
    for entry in archive.entries().map_err(|e| bad(e.to_string()))? {
        let entry = entry.map_err(|e| bad(e.to_string()))?;
        let p = entry.path().map_err(|e| bad(e.to_string()))?.into_owned();
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_dir()) {
            return Err(bad(format!(
                "{} is a {:?}; only files and directories are allowed",
                p.display(),
                kind
            )));
        }
        let mut comps = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(s) => comps.push(s.to_os_string()),
                Component::CurDir => {}
                _ => {
                    return Err(bad(format!("{} points outside the filestore", p.display())));
                }
            }
        }
        if comps.is_empty() {
            continue;
        }
        any = true;
        if comps[0] != "filestore" || (kind.is_file() && comps.len() < 2) {
            all_under_filestore = false;
        }
        if kind.is_file() {
            files += 1;
            bytes += entry.size();
        }
    }
    Ok(FilestoreInfo {
        files,
        bytes,
        strip_components: u32::from(any && all_under_filestore),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    pub(crate) fn sha(b: &[u8]) -> String {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    pub(crate) fn tarball(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, Cursor::new(*data)).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn manifest_for(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut m = serde_json::Map::new();
        for (n, d) in files {
            m.insert(
                (*n).into(),
                serde_json::json!({"size": d.len(), "sha256": sha(d)}),
            );
        }
        serde_json::to_vec(&serde_json::json!({"format": 1, "files": m})).unwrap()
    }

    const DUMP: &[u8] = b"--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET x = 1;\nCREATE TABLE t (a text);\nCOPY public.t (a) FROM stdin;\n\\N\n\\\\!not a command\n\\.\n\\unrestrict abc\n";

    fn good_files() -> (Vec<u8>, Vec<u8>) {
        (
            DUMP.to_vec(),
            tarball(&[
                ("filestore/ab/abcdef", b"file-1"),
                ("filestore/cd/cdef01", b"file-22"),
            ]),
        )
    }

    fn write(dir: &Path, bytes: &[u8]) -> PathBuf {
        let p = dir.join("backup.zip");
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn a_good_backup_passes() {
        let dir = tempfile::tempdir().unwrap();
        let (dump, fs) = good_files();
        let files = [
            ("dump.sql", dump.as_slice()),
            ("filestore.tar.gz", fs.as_slice()),
        ];
        let manifest = manifest_for(&files);
        let zip = zip_of(&[files[0], files[1], ("manifest.json", &manifest)]);
        let out = dir.path().join("x");
        let b = check_and_extract(&write(dir.path(), &zip), &out).unwrap();
        assert_eq!(std::fs::read(&b.dump_path).unwrap(), DUMP);
        assert_eq!(
            b.filestore,
            FilestoreInfo {
                files: 2,
                bytes: 13,
                strip_components: 1
            }
        );
    }

    #[test]
    fn corrupt_or_incomplete_backups_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (dump, fs) = good_files();
        let files = [
            ("dump.sql", dump.as_slice()),
            ("filestore.tar.gz", fs.as_slice()),
        ];
        let manifest = manifest_for(&files);
        let out = dir.path().join("x");

        let mut altered = dump.clone();
        altered[5] ^= 1;
        let z = zip_of(&[
            ("dump.sql", &altered),
            files[1],
            ("manifest.json", &manifest),
        ]);
        assert_eq!(
            check_and_extract(&write(dir.path(), &z), &out),
            Err(ArchiveError::DigestMismatch {
                name: "dump.sql".into()
            })
        );

        let z = zip_of(&[
            ("dump.sql", &dump[..10]),
            files[1],
            ("manifest.json", &manifest),
        ]);
        assert!(matches!(
            check_and_extract(&write(dir.path(), &z), &out),
            Err(ArchiveError::SizeMismatch { .. })
        ));

        let z = zip_of(&[files[0], ("manifest.json", &manifest)]);
        assert_eq!(
            check_and_extract(&write(dir.path(), &z), &out),
            Err(ArchiveError::MissingEntry("filestore.tar.gz".into()))
        );

        let z = zip_of(&[
            files[0],
            files[1],
            ("manifest.json", &manifest),
            ("evil.sh", b"x"),
        ]);
        assert_eq!(
            check_and_extract(&write(dir.path(), &z), &out),
            Err(ArchiveError::Unlisted("evil.sh".into()))
        );

        let z = zip_of(&[files[0], files[1]]);
        assert_eq!(
            check_and_extract(&write(dir.path(), &z), &out),
            Err(ArchiveError::MissingEntry("manifest.json".into()))
        );

        let mut truncated = zip_of(&[files[0], files[1], ("manifest.json", &manifest)]);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(
            check_and_extract(&write(dir.path(), &truncated), &out),
            Err(ArchiveError::Zip(_))
        ));
    }

    #[test]
    fn dumps_that_leave_their_database_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dump.sql");
        let cases: [(&[u8], &str); 5] = [
            (b"PGDMP\x01\x0e", "custom-format"),
            (b"CREATE DATABASE x;\n\\connect x\n", "--create"),
            (b"SELECT 1;\n\\! rm -rf /\n", "\\!"),
            (b"ALTER TABLE public.t OWNER TO bob;\n", "--no-owner"),
            (b"COPY public.t (a) FROM stdin;\nx\n", "truncated"),
        ];
        for (body, expect) in cases {
            std::fs::write(&p, body).unwrap();
            let e = check_dump(&p).unwrap_err().to_string();
            assert!(e.contains(expect), "{e}");
        }
        std::fs::write(&p, DUMP).unwrap();
        check_dump(&p).unwrap();
    }

    #[test]
    fn filestores_that_escape_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fs.tar.gz");
        std::fs::write(&p, tarball(&[("ab/abc", b"1"), ("cd/cde", b"22")])).unwrap();
        assert_eq!(
            check_filestore(&p).unwrap(),
            FilestoreInfo {
                files: 2,
                bytes: 3,
                strip_components: 0
            }
        );
        // A header naming "../x" (tar::Builder refuses to write one, so patch it in).
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..4].copy_from_slice(b"../x");
        h.set_size(1);
        h.set_mode(0o644);
        h.set_cksum();
        let mut raw = Vec::new();
        raw.extend_from_slice(h.as_bytes());
        raw.extend_from_slice(&[b'x'; 512]);
        raw.extend_from_slice(&[0u8; 1024]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        assert!(
            check_filestore(&p)
                .unwrap_err()
                .to_string()
                .contains("outside")
        );

        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_cksum();
        b.append_link(&mut h, "ab/link", "/etc/passwd").unwrap();
        std::fs::write(&p, b.into_inner().unwrap().finish().unwrap()).unwrap();
        assert!(
            check_filestore(&p)
                .unwrap_err()
                .to_string()
                .contains("Symlink")
        );

        std::fs::write(&p, b"not gzip").unwrap();
        assert!(check_filestore(&p).is_err());
    }
}
