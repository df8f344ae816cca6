# audit: the benchmark (bench/bench_audit.c, built, not run by ctest: `build/bench_audit`)
# and the probe the integration test drives (tests/integration/audit_probe.c).
add_executable(bench_audit ${CMAKE_SOURCE_DIR}/bench/bench_audit.c)
target_link_libraries(bench_audit PRIVATE phicore)
add_executable(audit_probe ${CMAKE_SOURCE_DIR}/tests/integration/audit_probe.c)
target_link_libraries(audit_probe PRIVATE phicore)
