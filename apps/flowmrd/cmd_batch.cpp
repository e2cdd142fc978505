// SPDX-License-Identifier: Apache-2.0
// PLACEHOLDER (issue 7 in progress)
#include "cmd_batch.hpp"

namespace flowmrd::cli {

std::function<int()> add_batch_command(CLI::App& app) {
  app.add_subcommand("batch", "(in progress)");
  return []() -> int { return 1; };
}

}  // namespace flowmrd::cli
