# SPDX-License-Identifier: Apache-2.0
# CTest entries of tests/cli/run_report_cli_tests.py (included from tests/cli/CMakeLists.txt):
# `flowmrd report` on a store made by `flowmrd batch` from samples/demo, and the page in headless
# Chromium (browser, pdf: skipped when Chromium is absent unless FLOWMRD_REQUIRE_BROWSER is set).
# The browser screenshot and the PDF are kept in ${CMAKE_BINARY_DIR}/test-artifacts.
set(_report_cli_tests html browser pdf errors)
foreach(_t IN LISTS _report_cli_tests)
  add_test(NAME cli_report_${_t}
    COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_report_cli_tests.py
            $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} ${_t} --config ${_cli_config}
            --artifacts ${CMAKE_BINARY_DIR}/test-artifacts)
  set_tests_properties(cli_report_${_t} PROPERTIES LABELS "cli;report" SKIP_RETURN_CODE 77 TIMEOUT 900)
endforeach()
