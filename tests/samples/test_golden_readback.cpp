// SPDX-License-Identifier: Apache-2.0
// The simulator's files through the golden-test machinery: every shipped scenario is simulated,
// written, read back with fcs::read_file (flowCore-default options) and compared with what was
// written the way tests/libfcs/test_golden.cpp compares real files with flowCore: event count,
// channel names and markers, per-channel min/max/sum/sum of squares (compensated summation,
// relative 1e-6) and the sampled rows of the golden JSON convention (first 5, last 5, 20 spread).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "../libfcs/golden_support.hpp"
#include "fcs/reader.hpp"
#include "flowmrd/samples/scenario.hpp"
#include "flowmrd/samples/simulator.hpp"

namespace fs = std::filesystem;
using namespace flowmrd::samples;

namespace {

std::vector<fs::path> shipped_scenarios() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(FLOWMRD_SOURCE_DIR) / "samples" / "scenarios"))
    if (e.path().extension() == ".toml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The golden JSON's sampled rows: the first 5, the last 5 and 20 spread over the file.
std::set<std::size_t> sampled_rows(std::size_t n) {
  std::set<std::size_t> rows;
  for (std::size_t i = 0; i < std::min<std::size_t>(5, n); ++i) {
    rows.insert(i);
    rows.insert(n - 1 - i);
  }
  for (std::size_t k = 0; k < 20 && n > 0; ++k) rows.insert(k * n / 20);
  return rows;
}

}  // namespace

TEST(SimulatorGolden, EveryShippedScenarioReadsBackAsWritten) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "simulator_golden";
  fs::create_directories(dir);
  const auto scenarios = shipped_scenarios();
  ASSERT_FALSE(scenarios.empty());
  for (const fs::path& path : scenarios) {
    SCOPED_TRACE(path.filename().string());
    Scenario sc = load_scenario(path);
    sc.events = std::min<std::uint64_t>(sc.events, 20000);  // the layout, not the size, matters here
    const Simulation sim = simulate(sc);
    const fs::path out = dir / (path.stem().string() + ".fcs");
    write_simulation(sim, out);

    const fcs::File f = fcs::read_file(out);
    ASSERT_EQ(f.datasets.size(), 1U);
    const fcs::Dataset& ds = f.datasets.front();
    EXPECT_TRUE(ds.issues.empty()) << ds.issues.front().to_string();
    ASSERT_EQ(ds.event_count, sc.events);
    ASSERT_EQ(ds.channels.size(), sim.columns.size());
    const fcs::WriteRequest req = sim.write_request();
    for (std::size_t c = 0; c < ds.channels.size(); ++c) {
      SCOPED_TRACE(ds.channels[c].name);
      EXPECT_EQ(ds.channels[c].name, req.channels[c].name);
      EXPECT_EQ(ds.channels[c].marker, req.channels[c].marker);
      const std::vector<double> ours = ds.events.column_as_double(c);
      // What flowCore's defaults would give: values above $PnR clipped to $PnR.
      std::vector<double> want(sim.columns[c].begin(), sim.columns[c].end());
      for (double& v : want) v = std::min(v, req.channels[c].range);
      const golden::Stats a = golden::compute_stats(ours);
      const golden::Stats b = golden::compute_stats(want);
      EXPECT_TRUE(golden::close(a.min, b.min)) << a.min << " vs " << b.min;
      EXPECT_TRUE(golden::close(a.max, b.max)) << a.max << " vs " << b.max;
      EXPECT_TRUE(golden::sum_close(a.sum, b.sum, b)) << a.sum << " vs " << b.sum;
      EXPECT_TRUE(golden::sumsq_close(a.sumsq, b.sumsq, b)) << a.sumsq << " vs " << b.sumsq;
      for (std::size_t r : sampled_rows(want.size())) EXPECT_TRUE(golden::close(ours[r], want[r])) << "row " << r;
    }
    // The file's own matrix is the profile's, so compensation can remove what was applied.
    ASSERT_NE(ds.spillover(), nullptr);
    EXPECT_EQ(ds.spillover()->source_keyword, "$SPILLOVER");
  }
}
