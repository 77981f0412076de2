//! `vmpool-bench`: see `pool_bench::cli`.

fn main() -> std::process::ExitCode {
    pool_bench::cli::main()
}
