// SPDX-License-Identifier: Apache-2.0
/// @file fcs.hpp
/// Umbrella header for libfcs.
#pragma once

#include "fcs/channel.hpp"
#include "fcs/dataset.hpp"
#include "fcs/error.hpp"
#include "fcs/event_matrix.hpp"
#include "fcs/issue.hpp"
#include "fcs/keywords.hpp"
#include "fcs/options.hpp"
#include "fcs/reader.hpp"
#include "fcs/sha256.hpp"
#include "fcs/spillover.hpp"
#include "fcs/writer.hpp"
