//! `confpay-sim`: the FreeSWITCH simulator on its own, for developing ESL clients (CTI desktops, CRMs,
//! confpayd itself) without a FreeSWITCH. Thin: options and start-up live in
//! [`confpay_sim::standalone`], the process (banner, runtime) in [`confpay_sim::process`], the stdin
//! command interpreter in [`confpay_sim::console`].

use std::process::ExitCode;

fn main() -> ExitCode {
    confpay_sim::process::main(std::env::args().skip(1))
}
