//! `vmpool-bench`: see `pool_bench::cli`.

#![forbid(unsafe_code)]

/// Boa's heap limit (`limits.memory_mb`) needs its counting allocator as the process's global allocator (see
/// engine-boa's crate docs); QuickJS and Lua do not use it and pay one thread-local addition per allocation.
#[cfg(feature = "boa")]
#[global_allocator]
static ALLOC: engine_boa::CountingAllocator = engine_boa::CountingAllocator::system();

fn main() -> std::process::ExitCode {
    pool_bench::cli::main()
}
