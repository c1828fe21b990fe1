//! `confpayd completions SHELL` and `confpayd man`: documents generated from the clap declaration
//! ([`super::args::Cli`]), so they always match the binary that prints them.
//!
//! Both are built in memory and then written: clap_complete panics on a failed write, and a closed
//! pipe (`confpayd man | head`) must be an error message, not a panic.

use super::args::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::io;

/// The completion script for `shell`, for the program name `confpayd`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "confpayd", &mut script);
    script
}

/// The man page (section 1), roff.
pub fn man_page() -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_know_every_subcommand_and_flag() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(completions(shell)).expect("utf-8");
            // Without the dashes: fish spells a long flag `-l check-config`.
            for word in [
                "confpayd",
                "decode",
                "demo",
                "completions",
                "man",
                "check-config",
            ] {
                assert!(script.contains(word), "{shell}: no {word}");
            }
        }
    }

    #[test]
    fn man_page_is_roff_with_flags_and_exit_status() {
        let page = String::from_utf8(man_page().expect("rendered")).expect("utf-8");
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
        assert!(page.contains(".TH confpayd 1"), "{page}");
        for word in ["check\\-config", "completions", "Exit status", "78"] {
            assert!(page.contains(word), "no {word}: {page}");
        }
    }
}
