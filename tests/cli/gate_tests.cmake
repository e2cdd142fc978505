# SPDX-License-Identifier: Apache-2.0
# CTest entries of tests/cli/run_gate_cli_tests.py (included from tests/cli/CMakeLists.txt).
set(_gate_cli_tests gatingml_set1 gatingml_set2 threads_identical flowjo_counts events_csv errors)
foreach(_t IN LISTS _gate_cli_tests)
  add_test(NAME cli_gate_${_t}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_gate_cli_tests.py
            $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} ${_t} --config ${_cli_config})
  set_tests_properties(cli_gate_${_t} PROPERTIES LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
