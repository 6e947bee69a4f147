//! The `mediajobs` binary.
fn main() {}
