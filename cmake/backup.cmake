# backup: the tools' RESP client is not part of phicore (the server never needs it), so its
# unit test (tests/unit/tools/test_rclient.c) is built here with tools/rclient.c.
add_executable(test_rclient ${CMAKE_SOURCE_DIR}/tests/unit/tools/test_rclient.c
               ${CMAKE_SOURCE_DIR}/tools/rclient.c ${CMAKE_SOURCE_DIR}/tests/unit/unit.c)
target_include_directories(test_rclient PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(test_rclient PRIVATE phicore)
add_test(NAME unit_test_rclient COMMAND test_rclient)
set_tests_properties(unit_test_rclient PROPERTIES LABELS unit TIMEOUT 60)
