//! `panelwright user`: users of `serve` (the console logs in with them).
//! A password is read from the terminal without echo, or one line from
//! standard input when it is not a terminal; never from an argument (it
//! would be in the shell's history and in `ps`).

use super::audit::ListFormat;
use super::exit;
use super::table::{Align, Table};
use crate::access::Role;
use crate::auth::{Actor, AuthError, accounts};
use secrecy::SecretString;
use std::io::BufRead as _;
use std::path::Path;

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from the terminal (or one line of stdin).
    Add(AddArgs),
    /// List users (never a password).
    List {
        /// table or json.
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
    },
    /// Disable a user: no more logins, their sessions end.
    Disable {
        /// The user's name.
        name: String,
    },
    /// Set a user's password (read as for `add`); their sessions end.
    Password {
        /// The user's name.
        name: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Letters, digits and `._@-` (shown in the audit log as `user:NAME`).
    pub name: String,
    /// viewer, operator or admin.
    #[arg(long, value_parser = |s: &str| s.parse::<Role>().map_err(|e| e.to_string()))]
    pub role: Role,
}

pub async fn run(cmd: UserCommand, store_path: &Path) -> u8 {
    let Some(store) = super::open_store(store_path).await else {
        return exit::INTERNAL;
    };
    let by = Actor {
        name: super::token::cli_actor(),
        address: None,
    };
    let done = match cmd {
        UserCommand::Add(args) => match read_password(&args.name) {
            Ok(password) => accounts::add_user(&store, &by, &args.name, args.role, password)
                .await
                .map(|u| eprintln!("user `{}` ({}) added", u.name, u.role)),
            Err(code) => return code,
        },
        UserCommand::List { format } => return list(&store, format).await,
        UserCommand::Disable { name } => accounts::disable_user(&store, &by, &name)
            .await
            .map(|u| eprintln!("user `{}` disabled; their sessions ended", u.name)),
        UserCommand::Password { name } => match read_password(&name) {
            Ok(password) => accounts::set_password(&store, &by, &name, password)
                .await
                .map(|u| eprintln!("password of `{}` changed; their sessions ended", u.name)),
            Err(code) => return code,
        },
    };
    match done {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("error: {e}");
            exit_for(&e)
        }
    }
}

/// Bad input and a state that forbids the change are the caller's to fix.
pub(crate) fn exit_for(e: &AuthError) -> u8 {
    match e {
        AuthError::Invalid { .. } | AuthError::Password(_) => exit::INVALID,
        AuthError::Store(s) => super::store_exit(s),
        _ => exit::INTERNAL,
    }
}

async fn list(store: &crate::store::Store, format: ListFormat) -> u8 {
    let list = match crate::views::access::users(store).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INTERNAL;
        }
    };
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&list).expect("JSON")),
        ListFormat::Table => {
            let mut t = Table::new(&[
                ("NAME", Align::Left),
                ("ROLE", Align::Left),
                ("CREATED", Align::Left),
                ("DISABLED", Align::Left),
            ]);
            for u in list.users {
                t.row(vec![
                    u.name,
                    u.role.to_string(),
                    u.created_at,
                    u.disabled_at.unwrap_or_else(|| "-".into()),
                ]);
            }
            print!("{}", t.render());
        }
    }
    exit::OK
}

/// The password: typed twice without echo on a terminal, else the first
/// line of standard input.
fn read_password(name: &str) -> Result<SecretString, u8> {
    let read = if is_terminal() {
        prompt(&format!("password for {name}: ")).and_then(|first| {
            let again = prompt("again: ")?;
            if first == again {
                Ok(first)
            } else {
                Err(std::io::Error::other("the two passwords differ"))
            }
        })
    } else {
        read_line()
    };
    read.map(SecretString::from).map_err(|e| {
        eprintln!("error: reading the password: {e}");
        exit::INVALID
    })
}

fn is_terminal() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdin().is_terminal()
}

fn read_line() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a line from the terminal with echo off (restored however the
/// read ends).
fn prompt(text: &str) -> std::io::Result<String> {
    eprint!("{text}");
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a valid fd.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    // SAFETY: a termios copied from tcgetattr's, on the same fd.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let line = read_line();
    // SAFETY: restores the settings read above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    line
}
