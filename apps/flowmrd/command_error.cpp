// SPDX-License-Identifier: Apache-2.0
#include "command_error.hpp"

#include <utility>

namespace flowmrd::cli {

CommandError::CommandError(ExitCode code, const std::string& message, std::vector<std::string> notes)
    : std::runtime_error(message), code_(code), notes_(std::move(notes)) {}

}  // namespace flowmrd::cli
