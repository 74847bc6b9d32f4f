//! Compiles the kernel bodies as plain C (kernels/host.c, and the BFS bodies
//! on several threads: kernels/host_threads.c) into a static library the
//! tests call, so every kernel's logic also runs on the CPU.

fn main() {
    for file in [
        "host.c",
        "host_threads.c",
        "common.cuh",
        "bfs.cuh",
        "mask.cuh",
        "transform.cuh",
        "components.cuh",
    ] {
        println!("cargo:rerun-if-changed=kernels/{file}");
    }
    cc::Build::new()
        .file("kernels/host.c")
        .file("kernels/host_threads.c")
        .include("kernels")
        .flag("-std=c11")
        .warnings_into_errors(true)
        .opt_level(2)
        .compile("catalytic_kernels_host");
}
