# Benchmark programs (built with the project, never run by ctest).
add_executable(bench_seal ${CMAKE_SOURCE_DIR}/bench/bench_seal.c)
target_link_libraries(bench_seal PRIVATE phicore)
