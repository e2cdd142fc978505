# SPDX-License-Identifier: Apache-2.0
# CTest entries of tests/cli/run_qa_cli_tests.py (included from tests/cli/CMakeLists.txt).
set(_qa_cli_tests
  labels_vs_labels gatingml_reference flowjo_reference map disagreements json_html bad_reference)
foreach(_t IN LISTS _qa_cli_tests)
  add_test(NAME cli_qa_${_t}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_qa_cli_tests.py
            $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} ${_t} --config ${_cli_config})
  set_tests_properties(cli_qa_${_t} PROPERTIES LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 300)
endforeach()
