//! `confpay-sim`: the FreeSWITCH simulator on its own, for developing ESL clients (CTI desktops, CRMs,
//! confpayd itself) without a FreeSWITCH. Thin: the command line is read by [`confpay_sim::cli`],
//! start-up lives in [`confpay_sim::standalone`], the process (banner, runtime) in
//! [`confpay_sim::process`], the stdin command interpreter in [`confpay_sim::console`].
//!
//! Exit status: 0 after `quit` or end of input (and for `--help`), 64 for a usage mistake
//! (`EX_USAGE`), 69 if the simulator cannot start, 71 without a runtime, 74 if the console fails.

use std::process::ExitCode;

fn main() -> ExitCode {
    confpay_sim::process::main(std::env::args().skip(1))
}
