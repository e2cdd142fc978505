# SPDX-License-Identifier: Apache-2.0
# CTest entries of tests/cli/run_batch_cli_tests.py (included from tests/cli/CMakeLists.txt):
# `flowmrd batch` on manifests over the bundled demo files.
set(_batch_cli_tests
  demo equals_analyze jobs_identical corrupted fail_fast resume kill_resume plan_only errors)
foreach(_t IN LISTS _batch_cli_tests)
  add_test(NAME cli_batch_${_t}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_batch_cli_tests.py
            $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} ${_t} --config ${_cli_config})
  set_tests_properties(cli_batch_${_t} PROPERTIES LABELS "cli;batch" SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()
