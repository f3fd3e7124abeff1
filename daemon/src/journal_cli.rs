//! `sesamed journal verify|export`: the counter's journal ([`sesame_daemon::journal`]) for
//! the town hall's records.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use sesame_daemon::journal::{self, ExportFormat, JournalError};
use sesame_daemon::state::StateDir;

/// `sesamed journal …`.
#[derive(clap::Subcommand)]
pub(crate) enum JournalAction {
    /// Check that no line was edited, removed, inserted or reordered (exit 3 if one was).
    Verify,
    /// Export entries (CSV or JSON) after checking the whole journal.
    Export {
        /// The first UTC day (YYYY-MM-DD) or unix time to include (default: the beginning).
        #[arg(long)]
        from: Option<String>,
        /// The last UTC day (YYYY-MM-DD, included to its end) or unix time (default: all).
        #[arg(long)]
        to: Option<String>,
        /// csv (seq,time,time_utc,kind,data) or json (an array of the journal's lines).
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file (mode 0600) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub(crate) fn journal_command(
    state_dir: Option<&Path>,
    action: &JournalAction,
) -> Result<(), String> {
    let state = StateDir::locate(state_dir).map_err(|e| e.to_string())?;
    let dir = journal::dir_in(&state);
    match action {
        JournalAction::Verify => {
            let r = journal::verify(&dir).map_err(|e| e.to_string())?;
            if r.entries == 0 {
                println!("journal intact: no entries yet ({})", dir.display());
            } else {
                println!(
                    "journal intact: {} entries in {} file(s), seq {}..{} ({} to {})",
                    r.entries,
                    r.files,
                    r.first_seq,
                    r.last_seq,
                    sesame_protocol::rfc3339(r.first_time),
                    sesame_protocol::rfc3339(r.last_time)
                );
            }
            Ok(())
        }
        JournalAction::Export {
            from,
            to,
            format,
            out,
        } => {
            let bound = |text: &Option<String>, end| {
                text.as_deref()
                    .map(|t| journal::parse_time_bound(t, end))
                    .transpose()
            };
            let (from, to) = (bound(from, false)?, bound(to, true)?);
            let count = match out {
                None => {
                    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
                    let count = journal::export(&dir, from, to, *format, &mut stdout)
                        .map_err(|e| e.to_string())?;
                    stdout
                        .flush()
                        .map_err(|e| format!("writing the export: {e}"))?;
                    count
                }
                Some(path) => export_to_file(&dir, from, to, *format, path)?,
            };
            eprintln!("exported {count} entries");
            Ok(())
        }
    }
}

/// Writes next to `path` and renames, so that a failed export leaves no partial file.
fn export_to_file(
    dir: &Path,
    from: Option<i64>,
    to: Option<i64>,
    format: ExportFormat,
    path: &Path,
) -> Result<usize, String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let partial = path.with_file_name(format!(".{}.partial", name.unwrap_or_default()));
    let failed = |e: &dyn std::fmt::Display| {
        let _ = std::fs::remove_file(&partial);
        format!("{}: {e}", path.display())
    };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| failed(&e))?;
    let mut writer = std::io::BufWriter::new(file);
    let count = match journal::export(dir, from, to, format, &mut writer) {
        Ok(count) => count,
        Err(e @ JournalError::Output(_)) => return Err(failed(&e)),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.to_string());
        }
    };
    writer
        .into_inner()
        .map_err(|e| failed(&e.into_error()))?
        .sync_all()
        .map_err(|e| failed(&e))?;
    std::fs::rename(&partial, path).map_err(|e| failed(&e))?;
    Ok(count)
}
