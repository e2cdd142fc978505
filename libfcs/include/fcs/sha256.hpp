// SPDX-License-Identifier: Apache-2.0
/// @file sha256.hpp
/// SHA-256 of a byte span (provenance of every result records its input file's hash).
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace fcs {

/// Lower-case hex SHA-256 digest of `bytes` (FIPS 180-4).
[[nodiscard]] std::string sha256_hex(std::span<const std::byte> bytes);

}  // namespace fcs
