// SPDX-License-Identifier: Apache-2.0
// Loading one tube for the MRD analysis: read, choose and resolve the panel, compensate with the
// file's own matrix, keep linear values. Transforms are not applied here: the analysis works in
// the fixed model scale (analysis.hpp) and pre-gating picks its own scales per gate.
#include <cmath>
#include <fstream>
#include <future>
#include <iterator>
#include <utility>

#include "fcs/error.hpp"
#include "fcs/reader.hpp"
#include "fcs/sha256.hpp"
#include "flowmrd/pipeline/analysis.hpp"

namespace flowmrd::pipeline {

namespace {

std::string file_name(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw AnalysisError(AnalysisErrorKind::input_invalid, path, path + ": cannot open the file");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.eof() && in.fail()) {
    throw AnalysisError(AnalysisErrorKind::input_invalid, path, path + ": cannot read the file");
  }
  return bytes;
}

}  // namespace

Tube load_tube(const std::string& path, std::span<const panels::Panel> panel_list, const LoadOptions& options) {
  Tube tube;
  tube.path = path;
  tube.label = file_name(path);

  fcs::File file;
  {
    // Hash and parse the same bytes (the file is read once); the buffer is freed before the
    // Frame is built so peak memory holds at most two copies of the events.
    const std::vector<char> bytes = read_bytes(path);
    if (bytes.empty()) throw AnalysisError(AnalysisErrorKind::input_invalid, path, path + ": the file is empty");
    const auto span = std::as_bytes(std::span<const char>(bytes));
    // The hash (for provenance) runs beside the parse: both only read the buffer.
    auto hash = std::async(std::launch::async, [span] { return fcs::sha256_hex(span); });
    fcs::ReadOptions ro;
    ro.dataset = 1;
    try {
      file = fcs::read_bytes(span, ro, path);
    } catch (const fcs::Error& e) {
      hash.wait();
      throw AnalysisError(AnalysisErrorKind::input_invalid, path, e.what());
    }
    tube.sha256 = hash.get();
  }
  if (file.datasets.empty()) {
    throw AnalysisError(AnalysisErrorKind::input_invalid, path, path + ": no data set could be read");
  }
  fcs::Dataset& ds = file.datasets.front();
  tube.events = ds.event_count;
  tube.issues = file.issues;
  tube.issues.insert(tube.issues.end(), ds.issues.begin(), ds.issues.end());
  tube.cytometer = ds.cytometer().value_or("");
  for (const char* key : {"$FIL", "$DATE", "$BTIM", "$ETIM", "$CYT", "$SRC", "$TOT", "$TIMESTEP"}) {
    if (auto v = ds.keywords.get_trimmed(key)) tube.keywords.emplace(key, *v);
  }
  if (ds.event_count == 0) {
    throw AnalysisError(AnalysisErrorKind::input_invalid, path, path + ": the data set holds no events ($TOT = 0)");
  }

  if (panel_list.empty()) throw std::invalid_argument("load_tube: no panel given");
  panels::ResolveOptions ro;
  ro.label = path;
  ro.instrument = options.instrument;
  try {
    if (panel_list.size() == 1) {
      tube.panel = panel_list.front();
      tube.resolution = panels::resolve(tube.panel, ds, ro);
    } else {
      auto choice = panels::choose_panel(panel_list, ds, ro);
      tube.panel = panel_list[choice.index];
      tube.resolution = std::move(choice.resolution);
    }
  } catch (const panels::ResolveError& e) {
    throw AnalysisError(AnalysisErrorKind::panel_mismatch, path, e.what());
  }

  std::optional<gating::Compensation> comp;
  try {
    comp = gating::Compensation::from_dataset(ds);
  } catch (const gating::CompensationError& e) {
    throw AnalysisError(AnalysisErrorKind::analysis_failed, path,
                        path + ": the file's spillover matrix cannot be used: " + e.what());
  }
  if (comp) {
    tube.compensation = comp->source();
  } else {
    tube.notes.push_back("the file has no spillover matrix: fluorescence is analysed uncompensated");
  }

  gating::FrameOptions fo;
  if (comp) fo.compensation = &*comp;
  fo.transforms["*"] = gating::TransformSpec{};
  fo.threads = options.threads;
  try {
    tube.frame = gating::build_frame(ds, fo);
  } catch (const std::exception& e) {
    throw AnalysisError(AnalysisErrorKind::analysis_failed, path, path + ": cannot compensate: " + e.what());
  }

  // Marker -> column, and the channels pre-gating needs.
  for (const auto& m : tube.resolution.markers) {
    tube.columns[m.marker] = m.channel;
    switch (m.role) {
      case panels::MarkerRole::scatter:
        if (m.marker == "FSC-A") tube.channels.fsc_a = m.channel;
        if (m.marker == "FSC-H") tube.channels.fsc_h = m.channel;
        if (m.marker == "SSC-A") tube.channels.ssc_a = m.channel;
        break;
      case panels::MarkerRole::time: tube.channels.time = m.channel; break;
      case panels::MarkerRole::viability_dna: tube.channels.dna = m.channel; break;
      default: tube.channels.fluorescence.push_back(m.channel); break;
    }
  }
  tube.channels.time_step = ds.timestep().value_or(0.0);
  for (const auto& c : ds.channels) tube.channels.ranges.push_back(c.range);
  if (tube.channels.fsc_a < 0 || tube.channels.ssc_a < 0) {
    throw AnalysisError(AnalysisErrorKind::panel_mismatch, path,
                        path + ": FSC-A and SSC-A are needed for pre-gating but were not found");
  }
  return tube;
}

}  // namespace flowmrd::pipeline
