//! The CLI's one error type. Every command returns [`CliError`]; `main` prints it as one line
//! (`porchlight: ...`) and exits with [`CliError::exit_code`]: 2 when what the user gave was
//! wrong (a flag, a file, a value, the admin token, a request the daemon refused as bad), 1 when
//! something failed at run time (the daemon unreachable or failing, I/O, the store).

use std::path::Path;

/// Why a command failed, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or bad input; the message names the flag, file or key and what was wrong.
    #[error("{0}")]
    Usage(String),
    /// The config file (or the embedded defaults with the environment) is not valid: names the
    /// file, the key and the problem.
    #[error(transparent)]
    Config(#[from] porchlight_server::config::ConfigError),
    /// `PORCHLIGHT_ADMIN_TOKEN` is not set for a command that talks to the daemon.
    #[error(
        "set PORCHLIGHT_ADMIN_TOKEN to the daemon's admin token (the daemon reads the same variable)"
    )]
    NoToken,
    /// The daemon answered 401: the token is not the one it was started with.
    #[error(
        "the daemon refused the admin token: PORCHLIGHT_ADMIN_TOKEN must match the token the daemon was started with"
    )]
    TokenRefused,
    /// The daemon refused the request as bad (a 4xx answer): its message, and the CSV rows at
    /// fault when there are any.
    #[error("{0}")]
    Refused(String),
    /// Nothing listens at the daemon's address.
    #[error(
        "cannot reach the Porchlight daemon at {server}: is `porchlight serve` running? (use --server URL for another address)"
    )]
    Unreachable {
        /// The address tried.
        server: String,
    },
    /// The daemon did not answer in time.
    #[error("the daemon at {server} did not answer in time")]
    Timeout {
        /// The address tried.
        server: String,
    },
    /// The request failed in transit for another reason.
    #[error("request to {server} failed: {source}")]
    Request {
        /// The address tried.
        server: String,
        /// What the HTTP client said.
        source: reqwest::Error,
    },
    /// The daemon failed the request (a 5xx answer), or its answer could not be read.
    #[error("{0}")]
    Daemon(String),
    /// Reading or writing a file or stream failed.
    #[error("{context}{source}")]
    Io {
        /// What was being done, ending in ": " (or empty).
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Any other failure at run time (the store, a benchmark, a simulation).
    #[error("{0}")]
    Failed(String),
    /// Another error, about a file (`roster.csv: row 3: ...`).
    #[error("{}: {source}", file.display())]
    InFile {
        /// The file the error is about.
        file: std::path::PathBuf,
        /// The error.
        source: Box<CliError>,
    },
}

impl CliError {
    /// The process exit code: 2 for bad input or usage, 1 for a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::Config(_)
            | CliError::NoToken
            | CliError::TokenRefused
            | CliError::Refused(_) => 2,
            CliError::Unreachable { .. }
            | CliError::Timeout { .. }
            | CliError::Request { .. }
            | CliError::Daemon(_)
            | CliError::Io { .. }
            | CliError::Failed(_) => 1,
            CliError::InFile { source, .. } => source.exit_code(),
        }
    }

    /// Bad usage or bad input: exit 2.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    /// A failure at run time: exit 1.
    pub fn failed(message: impl Into<String>) -> CliError {
        CliError::Failed(message.into())
    }

    /// An I/O failure while doing `context` (e.g. "roster.csv: cannot write").
    pub fn io(context: impl std::fmt::Display, source: std::io::Error) -> CliError {
        CliError::Io {
            context: format!("{context}: "),
            source,
        }
    }

    /// An I/O failure that speaks for itself.
    pub fn bare_io(source: std::io::Error) -> CliError {
        CliError::Io {
            context: String::new(),
            source,
        }
    }

    /// This error, said about `file`.
    pub fn in_file(self, file: &Path) -> CliError {
        CliError::InFile {
            file: file.to_path_buf(),
            source: Box::new(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_exit_2_and_failures_exit_1() {
        assert_eq!(
            CliError::usage("--days must be between 1 and 3660").exit_code(),
            2
        );
        assert_eq!(CliError::NoToken.exit_code(), 2);
        assert_eq!(CliError::TokenRefused.exit_code(), 2);
        assert_eq!(CliError::Refused("no member \"x\"".into()).exit_code(), 2);
        let server = "http://127.0.0.1:9".to_string();
        assert_eq!(CliError::Unreachable { server }.exit_code(), 1);
        assert_eq!(CliError::Daemon("storage failed".into()).exit_code(), 1);
        assert_eq!(CliError::failed("store: gone").exit_code(), 1);
        let io = std::io::Error::other("disk full");
        assert_eq!(CliError::io("out.csv: cannot write", io).exit_code(), 1);
    }

    #[test]
    fn an_error_about_a_file_keeps_its_exit_code_and_names_the_file() {
        let e = CliError::Refused("row 2: bad phone".into()).in_file(Path::new("roster.csv"));
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string(), "roster.csv: row 2: bad phone");
        let e = CliError::Unreachable {
            server: "http://127.0.0.1:9".into(),
        }
        .in_file(Path::new("roster.csv"));
        assert_eq!(e.exit_code(), 1);
        assert!(e.to_string().starts_with("roster.csv: cannot reach"));
    }

    #[test]
    fn io_errors_name_what_was_being_done() {
        let e = CliError::io("out.csv: cannot write", std::io::Error::other("disk full"));
        assert_eq!(e.to_string(), "out.csv: cannot write: disk full");
        let e = CliError::bare_io(std::io::Error::other("disk full"));
        assert_eq!(e.to_string(), "disk full");
    }
}
