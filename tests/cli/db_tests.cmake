# SPDX-License-Identifier: Apache-2.0
# CTest entries of tests/cli/run_db_cli_tests.py (included from tests/cli/CMakeLists.txt):
# `flowmrd db` on broken stores (errors) and on stores written by `flowmrd batch` over the
# bundled demo manifest (the others; skipped, exit 77, while `flowmrd batch` is unavailable).
set(_db_cli_tests errors patients timeline export audit failed)
foreach(_t IN LISTS _db_cli_tests)
  add_test(NAME cli_db_${_t}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_db_cli_tests.py
            $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} ${_t} --config ${_cli_config})
  set_tests_properties(cli_db_${_t} PROPERTIES LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()
