// SPDX-License-Identifier: Apache-2.0
// Test helper shared by the compensation tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "flowmrd/gating/compensation.hpp"

namespace compensation_test {

/// The message of the CompensationError `f` throws (fails the test when it throws nothing).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const flowmrd::gating::CompensationError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no CompensationError thrown";
  return {};
}

}  // namespace compensation_test
