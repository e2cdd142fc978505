// SPDX-License-Identifier: Apache-2.0
/// @file gatingml.hpp
/// Gating-ML 2.0 (ISAC) import and export: gates (rectangle, polygon, ellipsoid, quadrant,
/// boolean), parent references, transformations (flin, flog, fasinh, logicle, hyperlog, fratio)
/// and spectrum matrices.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "fcs/reader.hpp"
#include "flowmrd/gating/strategy.hpp"

namespace flowmrd::gating {

/// Read a Gating-ML 2.0 file. Unsupported elements are an error naming the element and its line,
/// never skipped. @throws GatingError "FILE:LINE: element: reason"
[[nodiscard]] GatingStrategy read_gatingml(const std::filesystem::path& path);
/// Same from text; `origin` names the source in errors.
[[nodiscard]] GatingStrategy parse_gatingml(std::string_view xml, std::string_view origin);

/// Gating-ML 2.0 text for a strategy (read back by read_gatingml to an equivalent strategy).
/// @throws GatingError for what Gating-ML cannot express (e.g. a FlowJo biex transform)
[[nodiscard]] std::string write_gatingml(const GatingStrategy& strategy);

/// How FCS files must be read for Gating-ML gates (as the reference implementation read them:
/// flowCore "linearize-with-PnG-scaling").
[[nodiscard]] fcs::ReadOptions gatingml_read_options();

}  // namespace flowmrd::gating
