// SPDX-License-Identifier: Apache-2.0
// The simulator: written FCS reads back cleanly, truth matches the events, MRD % by the
// product's denominator, determinism, spillover applied so that compensation recovers the truth,
// and the population models (doublets, hematogone continuum, lineage switch, flow anomaly).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fcs/reader.hpp"
#include "flowmrd/samples/simulator.hpp"

namespace fs = std::filesystem;
using namespace flowmrd::samples;

namespace {

fs::path tmp_dir(const std::string& name) {
  const fs::path dir = fs::path(FLOWMRD_TEST_TMP) / "samples" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Profile canto() { return load_profile(shipped_profiles_dir() / "bd-canto-8c-bcell.toml"); }
Profile fortessa() { return load_profile(shipped_profiles_dir() / "bd-fortessa-12c-combined.toml"); }

Scenario mixed_scenario(std::uint64_t events = 20000, std::uint64_t seed = 7) {
  Scenario s = parse_scenario(R"(profile = "bd-canto-8c-bcell"
mrd = 0.02
[fractions]
hematogone = 0.15
[blast]
cd38 = -1.0
cd19_negative_fraction = 0.25
lineage_switch_fraction = 0.25
)", "mixed.toml");
  s.events = events;
  s.seed = seed;
  return s;
}

std::uint64_t count(const Truth& t, Population p) { return t.counts[static_cast<std::size_t>(p)]; }

/// Values of fluorescence channel `j` (profile fluorescence order) for events of population p.
std::vector<double> values_of(const Simulation& sim, const std::vector<std::vector<float>>& cols, std::size_t j,
                              Population p) {
  std::vector<double> out;
  for (std::size_t e = 0; e < sim.truth.labels.size(); ++e) {
    if (sim.truth.labels[e] == static_cast<std::uint8_t>(p)) out.push_back(cols[j][e]);
  }
  return out;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

std::size_t fl_index(const Profile& p, const std::string& marker) {
  const auto m = p.markers();
  return static_cast<std::size_t>(std::find(m.begin(), m.end(), marker) - m.begin());
}

std::size_t channel_index(const Profile& p, const std::string& name) {
  return static_cast<std::size_t>(p.find_channel(name));
}

/// Inverse of a small dense matrix (Gauss-Jordan with partial pivoting).
std::vector<double> invert(std::vector<double> a, std::size_t n) {
  std::vector<double> inv(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) inv[i * n + i] = 1;
  for (std::size_t c = 0; c < n; ++c) {
    std::size_t piv = c;
    for (std::size_t r = c + 1; r < n; ++r) {
      if (std::abs(a[r * n + c]) > std::abs(a[piv * n + c])) piv = r;
    }
    for (std::size_t k = 0; k < n; ++k) {
      std::swap(a[c * n + k], a[piv * n + k]);
      std::swap(inv[c * n + k], inv[piv * n + k]);
    }
    const double d = a[c * n + c];
    for (std::size_t k = 0; k < n; ++k) {
      a[c * n + k] /= d;
      inv[c * n + k] /= d;
    }
    for (std::size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r * n + c];
      for (std::size_t k = 0; k < n; ++k) {
        a[r * n + k] -= f * a[c * n + k];
        inv[r * n + k] -= f * inv[c * n + k];
      }
    }
  }
  return inv;
}

}  // namespace

TEST(Simulator, WrittenFileReadsBackWithoutIssues) {
  const fs::path dir = tmp_dir("readback");
  const Profile profile = canto();
  const Simulation sim = simulate(mixed_scenario(), profile);
  write_simulation(sim, dir / "s.fcs");
  ASSERT_TRUE(fs::exists(dir / "s.truth.json"));

  const fcs::File file = fcs::read_file(dir / "s.fcs");
  EXPECT_TRUE(file.issues.empty());
  ASSERT_EQ(file.datasets.size(), 1u);
  const fcs::Dataset& ds = file.datasets[0];
  for (const auto& i : ds.issues) ADD_FAILURE() << i.to_string();
  EXPECT_EQ(ds.version, fcs::Version::fcs3_1);
  EXPECT_EQ(ds.tot(), 20000u);
  EXPECT_EQ(ds.events.rows(), 20000u);
  ASSERT_EQ(ds.channels.size(), profile.channels.size());
  for (std::size_t i = 0; i < ds.channels.size(); ++i) {
    EXPECT_EQ(ds.channels[i].name, profile.channels[i].name);
    if (!profile.channels[i].stain.empty()) {
      EXPECT_EQ(ds.channels[i].marker.value_or(""), profile.channels[i].stain);
    }
    EXPECT_EQ(ds.channels[i].range, 262144);
  }
  EXPECT_EQ(ds.channels[channel_index(profile, "PE-Cy7-A")].marker.value_or(""), "CD19 PE-Cy7");
  EXPECT_EQ(ds.cytometer().value_or(""), profile.cytometer);
  EXPECT_EQ(ds.keywords.get_trimmed("FLOWMRD_SEED").value_or(""), "7");
  const fcs::Spillover* spill = ds.spillover();
  ASSERT_NE(spill, nullptr);
  EXPECT_EQ(spill->source_keyword, "$SPILLOVER");
  EXPECT_EQ(spill->channels, profile.spillover.channels);
  ASSERT_EQ(spill->values.size(), profile.spillover.values.size());
  for (std::size_t k = 0; k < spill->values.size(); ++k) {
    EXPECT_NEAR(spill->values[k], profile.spillover.values[k], 1e-12);
  }
  // The values written are the values read (float32 both ways).
  for (std::size_t c = 0; c < ds.channels.size(); ++c) {
    const auto col = ds.events.column_as_double(c);
    for (std::size_t e = 0; e < col.size(); e += 97) ASSERT_EQ(col[e], static_cast<double>(sim.columns[c][e]));
  }
}

TEST(Simulator, BigEndianProfileReadsBack) {
  const fs::path dir = tmp_dir("bigendian");
  Scenario s = mixed_scenario(5000, 3);
  const Simulation sim = simulate(s, fortessa());
  write_simulation(sim, dir / "f.fcs");
  const fcs::File file = fcs::read_file(dir / "f.fcs");
  ASSERT_EQ(file.datasets.size(), 1u);
  const auto& ds = file.datasets[0];
  EXPECT_TRUE(ds.issues.empty());
  EXPECT_EQ(ds.byte_order, fcs::ByteOrder::big);
  const std::size_t c = channel_index(sim.profile, "BV421-A");
  const auto col = ds.events.column_as_double(c);
  for (std::size_t e = 0; e < col.size(); e += 13) ASSERT_EQ(col[e], static_cast<double>(sim.columns[c][e]));
  EXPECT_EQ(ds.channels[c].marker.value_or(""), "HLA-DR BV421");
}

TEST(Simulator, TruthMatchesEventsAndScenario) {
  const fs::path dir = tmp_dir("truth");
  const Scenario s = mixed_scenario(50000, 11);
  const Simulation sim = simulate(s, canto());
  write_simulation(sim, dir / "t.fcs");
  const Truth t = truth_from_json(slurp(dir / "t.truth.json"));
  const auto tot = fcs::read_file(dir / "t.fcs").datasets.at(0).tot();

  EXPECT_EQ(t.labels.size(), tot);
  std::uint64_t sum = 0;
  for (auto c : t.counts) sum += c;
  EXPECT_EQ(sum, tot);
  EXPECT_EQ(t.counts, sim.truth.counts);
  EXPECT_EQ(t.labels, sim.truth.labels);

  // Non-cells as fractions of all events, blasts as MRD of the denominator, the rest by fraction.
  const double n = static_cast<double>(s.events);
  EXPECT_NEAR(static_cast<double>(count(t, Population::debris)), s.debris * n, 1);
  EXPECT_NEAR(static_cast<double>(count(t, Population::doublet)), s.doublets * n, 1);
  EXPECT_NEAR(static_cast<double>(count(t, Population::dead)), s.dead * n, 1);
  EXPECT_EQ(t.denominator, t.events - count(t, Population::debris) - count(t, Population::doublet) -
                               count(t, Population::dead));
  EXPECT_NEAR(static_cast<double>(t.blasts), s.mrd * static_cast<double>(t.denominator), 0.5);
  EXPECT_EQ(t.blasts, count(t, Population::blast_b) + count(t, Population::blast_b_cd19neg) +
                          count(t, Population::blast_monocytic));
  EXPECT_DOUBLE_EQ(t.mrd_percent, 100.0 * static_cast<double>(t.blasts) / static_cast<double>(t.denominator));
  EXPECT_NEAR(t.mrd_percent, 2.0, 0.01);
  EXPECT_NEAR(static_cast<double>(count(t, Population::blast_b_cd19neg)), 0.25 * static_cast<double>(t.blasts), 1);
  EXPECT_NEAR(static_cast<double>(count(t, Population::blast_monocytic)), 0.25 * static_cast<double>(t.blasts), 1);
  EXPECT_TRUE(t.cd19_negative);
  EXPECT_TRUE(t.lineage_switch);

  double fsum = 0;
  for (const auto& [k, v] : s.fractions) fsum += v;
  const double normals = static_cast<double>(t.denominator - t.blasts);
  for (const auto& [k, v] : s.fractions) {
    SCOPED_TRACE(k);
    EXPECT_NEAR(static_cast<double>(count(t, *population_from_name(k))), normals * v / fsum, 1);
  }

  // Events of a population are spread through the run, not in blocks.
  std::uint64_t first_half_blasts = 0;
  for (std::size_t e = 0; e < t.labels.size() / 2; ++e) {
    first_half_blasts += is_blast(static_cast<Population>(t.labels[e]));
  }
  EXPECT_GT(first_half_blasts, t.blasts / 3);
  EXPECT_LT(first_half_blasts, 2 * t.blasts / 3);
}

TEST(Simulator, NoBlastsNoFlags) {
  Scenario s = mixed_scenario(5000, 5);
  s.mrd = 0;
  const Simulation sim = simulate(s, canto());
  EXPECT_EQ(sim.truth.blasts, 0u);
  EXPECT_EQ(sim.truth.mrd_percent, 0.0);
  EXPECT_FALSE(sim.truth.cd19_negative);
  EXPECT_FALSE(sim.truth.lineage_switch);
}

TEST(Simulator, DeterministicPerSeed) {
  const fs::path dir = tmp_dir("determinism");
  const Profile profile = canto();
  write_simulation(simulate(mixed_scenario(10000, 42), profile), dir / "a.fcs");
  write_simulation(simulate(mixed_scenario(10000, 42), profile), dir / "b.fcs");
  write_simulation(simulate(mixed_scenario(10000, 43), profile), dir / "c.fcs");
  EXPECT_EQ(slurp(dir / "a.fcs"), slurp(dir / "b.fcs"));
  EXPECT_EQ(slurp(dir / "a.truth.json"), slurp(dir / "b.truth.json"));
  EXPECT_NE(slurp(dir / "a.fcs"), slurp(dir / "c.fcs"));
  EXPECT_NE(slurp(dir / "a.truth.json"), slurp(dir / "c.truth.json"));
}

TEST(Simulator, CompensationRecoversTrueIntensities) {
  Profile profile = canto();
  profile.electronic_noise = 0;  // then raw = true x S exactly (up to float rounding)
  profile.photon_noise = 0;
  SimulateOptions opt;
  opt.keep_true_fluorescence = true;
  const Simulation sim = simulate(mixed_scenario(5000, 9), profile, opt);
  const std::size_t nf = profile.spillover.size();
  const auto inv = invert(profile.spillover.values, nf);
  std::vector<std::size_t> cols;
  for (const auto& name : profile.spillover.channels) cols.push_back(channel_index(profile, name));
  std::size_t checked = 0;
  for (std::size_t e = 0; e < sim.truth.labels.size(); ++e) {
    bool clipped = false;
    for (auto c : cols) clipped = clipped || sim.columns[c][e] >= 262143.0f;
    if (clipped) continue;
    for (std::size_t j = 0; j < nf; ++j) {
      double comp = 0;
      for (std::size_t i = 0; i < nf; ++i) comp += static_cast<double>(sim.columns[cols[i]][e]) * inv[i * nf + j];
      const double truth = sim.true_fluorescence[j][e];
      ASSERT_NEAR(comp, truth, 1e-3 * std::abs(truth) + 0.05) << "event " << e << " channel " << j;
    }
    ++checked;
  }
  EXPECT_GT(checked, 4900u);
  // And the spill is really there: raw PE (CD20) of FITC-bright (CD58) granulocytes exceeds their true CD20.
  const std::size_t pe = fl_index(profile, "CD20");
  const auto true_pe = values_of(sim, sim.true_fluorescence, pe, Population::granulocyte);
  std::vector<std::vector<float>> raw_fl;
  for (auto c : cols) raw_fl.push_back(sim.columns[c]);
  const auto observed_pe = values_of(sim, raw_fl, pe, Population::granulocyte);
  EXPECT_GT(median(observed_pe), median(true_pe) + 50);
}

TEST(Simulator, CompensatedNegativesStraddleZero) {
  const Profile profile = canto();
  const Simulation sim = simulate(mixed_scenario(20000, 21), profile);
  const std::size_t nf = profile.spillover.size();
  const auto inv = invert(profile.spillover.values, nf);
  std::vector<std::size_t> cols;
  for (const auto& name : profile.spillover.channels) cols.push_back(channel_index(profile, name));
  const std::size_t cd20 = fl_index(profile, "CD20");
  std::size_t negative = 0, total = 0;
  for (std::size_t e = 0; e < sim.truth.labels.size(); ++e) {
    if (sim.truth.labels[e] != static_cast<std::uint8_t>(Population::lymphocyte_t_nk)) continue;
    double comp = 0;
    for (std::size_t i = 0; i < nf; ++i) comp += static_cast<double>(sim.columns[cols[i]][e]) * inv[i * nf + cd20];
    negative += comp < 0;
    ++total;
  }
  ASSERT_GT(total, 1000u);
  const double f = static_cast<double>(negative) / static_cast<double>(total);
  EXPECT_GT(f, 0.1);
  EXPECT_LT(f, 0.6);
}

TEST(Simulator, DoubletsFallBelowTheScatterDiagonal) {
  const Profile profile = canto();
  const Simulation sim = simulate(mixed_scenario(20000, 4), profile);
  const auto& a = sim.columns[channel_index(profile, "FSC-A")];
  const auto& h = sim.columns[channel_index(profile, "FSC-H")];
  std::vector<double> single_ratio, doublet_ratio;
  for (std::size_t e = 0; e < a.size(); ++e) {
    const auto p = static_cast<Population>(sim.truth.labels[e]);
    if (p == Population::doublet) doublet_ratio.push_back(h[e] / a[e]);
    if (p == Population::lymphocyte_t_nk) single_ratio.push_back(h[e] / a[e]);
  }
  EXPECT_LT(median(doublet_ratio), 0.8 * median(single_ratio));
}

TEST(Simulator, HematogonesFormAMaturationContinuum) {
  Profile profile = canto();
  SimulateOptions opt;
  opt.keep_true_fluorescence = true;
  const Simulation sim = simulate(mixed_scenario(40000, 8), profile, opt);
  const auto cd10 = values_of(sim, sim.true_fluorescence, fl_index(profile, "CD10"), Population::hematogone);
  const auto cd20 = values_of(sim, sim.true_fluorescence, fl_index(profile, "CD20"), Population::hematogone);
  const auto cd34 = values_of(sim, sim.true_fluorescence, fl_index(profile, "CD34"), Population::hematogone);
  ASSERT_GT(cd10.size(), 3000u);
  // CD10 falls as CD20 rises: strongly negative correlation of the logs.
  double mx = 0, my = 0;
  const auto n = static_cast<double>(cd10.size());
  for (std::size_t i = 0; i < cd10.size(); ++i) {
    mx += std::log10(cd10[i]) / n;
    my += std::log10(cd20[i]) / n;
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < cd10.size(); ++i) {
    const double dx = std::log10(cd10[i]) - mx, dy = std::log10(cd20[i]) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  EXPECT_LT(sxy / std::sqrt(sxx * syy), -0.7);
  // Every stage is present: CD34+ stage I, CD10+ CD20- and CD10- CD20 bright cells.
  std::size_t stage1 = 0, mature = 0, middle = 0;
  for (std::size_t i = 0; i < cd10.size(); ++i) {
    stage1 += cd34[i] > 1000;
    mature += cd10[i] < 300 && cd20[i] > 3000;
    middle += cd10[i] > 1000 && cd20[i] > 300 && cd20[i] < 3000;
  }
  EXPECT_GT(stage1, cd10.size() / 20);
  EXPECT_GT(mature, cd10.size() / 50);
  EXPECT_GT(middle, cd10.size() / 10);
}

TEST(Simulator, BlastPhenotypes) {
  Profile profile = fortessa();
  SimulateOptions opt;
  opt.keep_true_fluorescence = true;
  Scenario s = mixed_scenario(60000, 12);
  s.mrd = 0.05;
  const Simulation sim = simulate(s, profile, opt);
  const auto& tf = sim.true_fluorescence;
  auto med = [&](const char* marker, Population p) { return median(values_of(sim, tf, fl_index(profile, marker), p)); };
  // CD38 under-expressed (scenario cd38 = -1) against hematogones; CD19 lost on the escape blasts.
  EXPECT_LT(med("CD38", Population::blast_b), med("CD38", Population::hematogone) / 5);
  EXPECT_GT(med("CD19", Population::blast_b), 1000);
  EXPECT_LT(med("CD19", Population::blast_b_cd19neg), 100);
  // Monocytic blasts: CD19-, CD64+, CD33 bright, HLA-DR+, CD14 negative/dim, CD45 dimmer than monocytes.
  EXPECT_LT(med("CD19", Population::blast_monocytic), 100);
  EXPECT_GT(med("CD64", Population::blast_monocytic), 1000);
  EXPECT_GT(med("CD33", Population::blast_monocytic), 5000);
  EXPECT_GT(med("HLA-DR", Population::blast_monocytic), 3000);
  EXPECT_LT(med("CD14", Population::blast_monocytic), med("CD14", Population::monocyte) / 20);
  EXPECT_LT(med("CD45", Population::blast_monocytic), med("CD45", Population::monocyte) / 2);
  // CD11b partial: some positive, some negative.
  const auto cd11b = values_of(sim, tf, fl_index(profile, "CD11b"), Population::blast_monocytic);
  const auto pos = std::count_if(cd11b.begin(), cd11b.end(), [](double v) { return v > 1000; });
  EXPECT_GT(pos, static_cast<std::ptrdiff_t>(cd11b.size() / 5));
  EXPECT_LT(pos, static_cast<std::ptrdiff_t>(cd11b.size() * 3 / 5));
}

TEST(Simulator, FlowAnomalySlowsTheEventRate) {
  Scenario s = mixed_scenario(20000, 13);
  s.flow_anomaly = FlowAnomaly{0.5, 0.6, 0.1};
  const Profile profile = canto();
  const Simulation sim = simulate(s, profile);
  const auto& time = sim.columns[channel_index(profile, "Time")];
  for (std::size_t e = 1; e < time.size(); ++e) ASSERT_GE(time[e], time[e - 1]);
  const double normal = time[9999] - time[7999];    // 2000 events at the nominal rate
  const double slow = time[11999] - time[9999];     // 2000 events during the clog
  EXPECT_GT(slow, 5 * normal);
}

TEST(Demo, ManifestFilesMatchTheirTruth) {
  const fs::path demo = fs::path(FLOWMRD_SOURCE_DIR) / "samples" / "demo";
  std::ifstream manifest(demo / "manifest.csv");
  ASSERT_TRUE(manifest) << "samples/demo/manifest.csv missing";
  std::string line;
  std::getline(manifest, line);
  // docs/manifest.md: the columns of a `flowmrd batch` manifest, plus the simulator's truth file.
  EXPECT_EQ(line,
            "patient,sample,timepoint,protocol_timepoint,date,tube,file,panel,protocol,age_days,wbc,kmt2a,cns,"
            "day8_pb_blasts_per_ul,truth");
  int rows = 0;
  while (std::getline(manifest, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (line.back() == ',') f.emplace_back();
    ASSERT_EQ(f.size(), 15u) << line;
    SCOPED_TRACE(f[6]);
    const fcs::File file = fcs::read_file(demo / f[6]);
    ASSERT_EQ(file.datasets.size(), 1u);
    const auto& ds = file.datasets[0];
    EXPECT_TRUE(ds.issues.empty());
    ASSERT_NE(ds.spillover(), nullptr);
    const Truth t = truth_from_json(slurp(demo / f[14]));
    EXPECT_EQ(t.events, ds.tot());
    EXPECT_EQ(ds.keywords.get_trimmed("PATIENT").value_or(""), f[0]);
    EXPECT_EQ(ds.keywords.get_trimmed("TIMEPOINT").value_or(""), f[2]);
    ++rows;
  }
  EXPECT_EQ(rows, 7);
}

TEST(Simulator, CountsAlwaysCoverTheEvents) {
  // Values a TOML file cannot hold but an API caller can: every count still lands somewhere.
  for (const std::uint64_t events : {1u, 7u, 999u, 10007u}) {
    Scenario s = mixed_scenario(events, events);
    for (auto& [k, v] : s.fractions) v = 0;
    s.mrd = 1.5;
    s.cd19_negative_fraction = 0.7;
    s.lineage_switch_fraction = 0.3000000000000001;
    const Simulation sim = simulate(s, canto());
    EXPECT_EQ(sim.truth.events, events);
    EXPECT_EQ(sim.truth.blasts, sim.truth.denominator);
    s.mrd = 0.01;
    const Simulation sim2 = simulate(s, canto());
    EXPECT_EQ(sim2.truth.events, events);
    std::uint64_t sum = 0;
    for (auto c : sim2.truth.counts) sum += c;
    EXPECT_EQ(sum, events);
  }
}
