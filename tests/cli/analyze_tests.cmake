# SPDX-License-Identifier: Apache-2.0
# CTest entries of tests/cli/run_analyze_cli_tests.py (included from tests/cli/CMakeLists.txt):
# `flowmrd analyze` and `flowmrd reference` on simulated samples.
set(_analyze_cli_tests
  b_lineage cd19_negative lineage_switch normal two_tubes threads_identical protocol diagnosis errors
  reference qa_events)
foreach(_t IN LISTS _analyze_cli_tests)
  add_test(NAME cli_analyze_${_t}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_analyze_cli_tests.py
            $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} ${_t} --config ${_cli_config})
  set_tests_properties(cli_analyze_${_t} PROPERTIES LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 600)
endforeach()
