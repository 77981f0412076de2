//! `vmpool-bench`: see `pool_bench::cli`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    pool_bench::cli::main()
}
