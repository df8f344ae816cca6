# aof: the durable log's benchmark (bench/bench_aof.c), built but not run by ctest:
# `build/bench_aof [DIR]` prints append+flush and load throughput on this disk.
add_executable(bench_aof ${CMAKE_SOURCE_DIR}/bench/bench_aof.c)
target_link_libraries(bench_aof PRIVATE phicore)
