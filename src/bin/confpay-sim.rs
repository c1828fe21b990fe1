//! `confpay-sim`: the FreeSWITCH simulator on its own, for developing ESL clients (CTI desktops, CRMs,
//! confpayd itself) without a FreeSWITCH. Thin: options and start-up live in
//! [`confpay::sim::standalone`], the process (banner, runtime) in [`confpay::sim::process`], the stdin
//! command interpreter in [`confpay::sim::console`].

use std::process::ExitCode;

fn main() -> ExitCode {
    confpay::sim::process::main(std::env::args().skip(1))
}
