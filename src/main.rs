//! `confpayd`: the Conference Pay daemon. Thin: parses the command line and hands off.
fn main() {
    eprintln!("confpayd: not yet wired");
    std::process::exit(2);
}
