// SPDX-License-Identifier: Apache-2.0
/// @file cmd_transform.hpp
/// `flowmrd transform`: apply one scale transform (or its inverse) to numbers read from standard
/// input, one result per line, shortest round-trip text (docs/transforms.md).
#pragma once

#include <string>
#include <vector>

namespace flowmrd::cli {

/// Options of `flowmrd transform` (docs/cli.md, docs/transforms.md).
struct TransformOptions {
  std::string name;                 ///< flin, flog, fasinh, logicle, hyperlog, biex, arcsinh, logicle-flowcore, ...
  std::vector<std::string> params;  ///< "KEY=VALUE" each; missing keys take the documented defaults.
  bool inverse = false;             ///< Apply the inverse transform instead.
};

/// Read whitespace-separated numbers from standard input and print the transform of each.
/// @throws CommandError: usage (bad name or parameter), input_invalid (a token that is not a
///         number, named with its position), output_failed.
/// @returns the exit code (always ExitCode::ok when it returns).
int run_transform(const TransformOptions& options);

}  // namespace flowmrd::cli
