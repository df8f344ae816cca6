# cmake/phi.cmake: extras of the PHI detector (module phi).
#  - embeds data/phi/*.txt into libphi (phi_data.c uses .incbin; the lists are
#    declared as object dependencies so an edited list rebuilds the object);
#  - phi-eval: precision / recall / F2 on labelled sets;
#  - phi-bench: throughput on clinical text (not a ctest: it measures, never fails);
#  - ctest entries: evaluation against the targets on the clinical notes, and a
#    CLI test that runs `phidb phi scan/redact` on sample input.
#  - precompiles the Hyperscan database with phi-hsgen (compiling it takes
#    seconds; deserializing the embedded copy takes milliseconds).
set(PHI_DATA_DIR ${CMAKE_SOURCE_DIR}/data/phi)
file(GLOB PHI_DATA_FILES CONFIGURE_DEPENDS ${PHI_DATA_DIR}/*.txt)

add_executable(phi-hsgen src/phi/gen/phi_hsgen.c src/phi/phi_patterns.c)
target_link_libraries(phi-hsgen PRIVATE PkgConfig::HS m)
set(PHI_HSDB ${CMAKE_BINARY_DIR}/phi/phi_hs.db)
add_custom_command(OUTPUT ${PHI_HSDB}
                   COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/phi
                   COMMAND phi-hsgen ${PHI_HSDB}
                   DEPENDS phi-hsgen
                   COMMENT "Precompiling the PHI pattern database")
add_custom_target(phi_hsdb DEPENDS ${PHI_HSDB})
add_dependencies(phi phi_hsdb)

target_compile_definitions(phi PRIVATE PHI_DATA_DIR="${PHI_DATA_DIR}" PHI_HSDB="${PHI_HSDB}")
set_source_files_properties(${CMAKE_SOURCE_DIR}/src/phi/phi_data.c PROPERTIES
                            OBJECT_DEPENDS "${PHI_DATA_FILES};${PHI_HSDB}")

if(EXISTS ${CMAKE_SOURCE_DIR}/tests/phi/phi_eval.c)
  add_executable(phi-eval tests/phi/phi_eval.c)
  target_link_libraries(phi-eval PRIVATE phi)
endif()
if(EXISTS ${CMAKE_SOURCE_DIR}/bench/phi/phi_bench.c)
  add_executable(phi-bench bench/phi/phi_bench.c)
  target_link_libraries(phi-bench PRIVATE phi)
endif()

# ctest: the clinical-notes evaluation must meet the targets (recall >= 0.97 for
# names, dates, phones and ids; precision >= 0.85) on the development split; the
# CLI test drives the real `phidb phi` binary. Benchmarks are not tests.
enable_testing()
add_test(NAME phi_eval_clinical
         COMMAND phi-eval --check --split dev --notes ${CMAKE_SOURCE_DIR}/tests/phi/clinical-notes.jsonl)
set_tests_properties(phi_eval_clinical PROPERTIES LABELS phi TIMEOUT 300)
# The second development set (pool C: rare and invented surnames, other note kinds).
add_test(NAME phi_eval_clinical_dev2
         COMMAND phi-eval --check --notes ${CMAKE_SOURCE_DIR}/tests/phi/clinical-notes-dev2.jsonl)
set_tests_properties(phi_eval_clinical_dev2 PROPERTIES LABELS phi TIMEOUT 300)
add_test(NAME phi_cli COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/phi/test_phi_cli.py)
set_tests_properties(phi_cli PROPERTIES LABELS phi TIMEOUT 300
                     ENVIRONMENT "PHIDB_BUILD=${CMAKE_BINARY_DIR};PHIDB_SOURCE=${CMAKE_SOURCE_DIR}")
