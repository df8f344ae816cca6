# cmake/policy.cmake: extras of the access policy module (policy).
#  - links libqrencode into the `phidb` tool only (`phidb user mfa` prints the
#    enrollment QR code in the terminal); the server does not need it;
#  - ctest entry for the enrollment command line (tests/policy/test_user_mfa.py).
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
target_link_libraries(phidb PRIVATE PkgConfig::QRENCODE)

add_test(NAME policy_user_mfa_cli
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/policy/test_user_mfa.py)
set_tests_properties(policy_user_mfa_cli PROPERTIES LABELS policy TIMEOUT 300
                     ENVIRONMENT "PHIDB_BUILD=${CMAKE_BINARY_DIR};PHIDB_SOURCE=${CMAKE_SOURCE_DIR}")
