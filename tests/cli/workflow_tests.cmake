# SPDX-License-Identifier: Apache-2.0
# CTest entry of tests/cli/run_workflow_test.py (included from tests/cli/CMakeLists.txt): the
# Snakemake workflow (workflow/Snakefile) on the demo manifest gives the same results store as
# `flowmrd batch`. Skipped (77) when snakemake is not installed, unless the environment variable
# FLOWMRD_REQUIRE_SNAKEMAKE is set.
add_test(NAME cli_workflow_snakemake
  COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/run_workflow_test.py
          $<TARGET_FILE:flowmrd> ${FLOWMRD_SHARED_DATA} snakemake --config ${_cli_config})
set_tests_properties(cli_workflow_snakemake PROPERTIES LABELS "cli" SKIP_RETURN_CODE 77 TIMEOUT 1200)
