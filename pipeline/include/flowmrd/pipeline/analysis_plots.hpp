// SPDX-License-Identifier: Apache-2.0
/// @file analysis_plots.hpp
/// The gating path of an analysed timepoint as PNG density plots (`flowmrd analyze --plots DIR`),
/// the plots a lab member checks before signing a result:
///  1. pre-gating, one plot per placed gate (PregateResult::gates) on its own axes, the parent
///     population as density and the gate drawn; scatter linear, fluorescence in the model scale;
///  2. CD19 vs SSC-A on the nucleated cells with the B-cell gate;
///  3. the B cells on CD10 vs CD45, CD34 vs CD10, CD20 vs CD10, CD38 vs CD10 and CD58 vs CD10 with
///     the hematogones and the blasts highlighted;
///  4. the CD19-independent B-progenitor window on CD34 vs CD10 and SSC-A vs CD45 with the
///     CD19-negative blasts highlighted;
///  5. the myelomonocytic cells on CD14 vs CD64, SSC-A vs CD45, HLA-DR vs CD33 and CD11b vs CD14
///     with the monocytes and the myelomonocytic blasts highlighted.
/// ("Y vs X": the first marker is the vertical axis.) A plot is made only when the tube has its
/// markers and the analysis produced its background population. Every PNG is a pure function of
/// the result and the options.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "flowmrd/pipeline/analysis.hpp"
#include "flowmrd/pipeline/plot.hpp"

namespace flowmrd::pipeline {

/// Colour of leukemic (blast) events in the analysis plots: red.
inline constexpr Rgb kBlastColour{228, 26, 28};
/// Colour of the normal counterpart highlighted beside the blasts (hematogones, monocytes): blue.
inline constexpr Rgb kNormalColour{55, 126, 184};
/// Colour of gate outlines: black.
inline constexpr Rgb kGateColour{0, 0, 0};

/// How the analysis plots are drawn.
struct PlotOptions {
  int width = 480;   ///< image width, pixels
  int height = 420;  ///< image height, pixels
};

/// One rendered plot.
struct RenderedPlot {
  std::string file_name;  ///< "<tube stem>-NN-<name>.png", e.g. "p1-day15-09-cd19.png"
  std::string title;
  std::string tube;       ///< tube label
  std::vector<std::uint8_t> png;
};

/// A plot written to disk.
struct PlotFile {
  std::filesystem::path path;
  std::string title;
  std::string tube;  ///< tube label
};

/// Render the plots of every tube, in tube order and, per tube, in the order of the file
/// comment. File names are unique: tubes whose stems collide get "-2", "-3", ... appended.
/// @throws std::invalid_argument when the options give a too small image
[[nodiscard]] std::vector<RenderedPlot> render_analysis_plots(const AnalysisResult& result,
                                                              const PlotOptions& options = {});

/// Render the plots and write them into `dir` (created when missing; existing files of the same
/// names are replaced).
/// @throws std::runtime_error naming the file and the reason when a file cannot be written
[[nodiscard]] std::vector<PlotFile> write_analysis_plots(const AnalysisResult& result,
                                                         const std::filesystem::path& dir,
                                                         const PlotOptions& options = {});

}  // namespace flowmrd::pipeline
