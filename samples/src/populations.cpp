// SPDX-License-Identifier: Apache-2.0
// Population labels and phenotype models. Intensities are log10 of true (compensated, linear)
// fluorescence on an 18-bit (262144) scale; the levels and scatter were calibrated against the
// labelled real marrow in shared/data/real-bm (BD FACSLyric: hematogones CD38 ~10^4.0, CD45 ~10^3.4,
// mature B CD45 ~10^3.7, monocytes CD33 ~10^3.9, lymphocyte FSC ~45-60k SSC ~10-13k, monocytes
// FSC ~80k SSC ~38k, neutrophils SSC ~80-90k, eosinophils SSC ~200k).
#include "flowmrd/samples/populations.hpp"

#include <cctype>
#include <string>

#include "population_models.hpp"

namespace flowmrd::samples {

namespace {

constexpr std::array<std::string_view, population_count> names = {
    "granulocyte", "eosinophil", "monocyte",   "myeloid_precursor", "lymphocyte_t_nk",
    "mature_b",    "hematogone", "plasma_cell", "erythroid",        "debris",
    "doublet",     "dead",       "blast_b",     "blast_b_cd19neg",   "blast_monocytic"};

constexpr std::array<std::string_view, detail::marker_count> marker_keys = {
    "CD19", "CD10", "CD34", "CD20", "CD38", "CD45", "CD58", "CD64", "CD11b", "CD14", "HLA-DR",
    "CD33", "CD4",  "SYTO41"};

/// Upper-case letters and digits only: "HLA-DR", "hla dr", "HLADR" all become "HLADR".
std::string squash(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0) {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
  }
  return out;
}

using detail::MarkerModel;
using detail::PhenotypeModel;
using detail::ScatterModel;

MarkerModel pos(double mu, double sd = 0.2) { return MarkerModel{mu, sd, 1, 1.6, 0.3}; }
MarkerModel partial(double mu, double fraction, double sd = 0.2) {
  return MarkerModel{mu, sd, fraction, 1.6, 0.3};
}

/// A model with every marker negative (autofluorescence) and the nucleic-acid dye positive.
PhenotypeModel base(ScatterModel scatter, double autofluorescence = 1.6) {
  PhenotypeModel m;
  for (auto& mk : m.markers) mk = MarkerModel{autofluorescence, 0.3, 1, autofluorescence, 0.3};
  m.markers[detail::m_syto41] = pos(3.9, 0.15);
  m.scatter = scatter;
  return m;
}

std::array<PhenotypeModel, population_count> build_models() {
  using namespace detail;
  std::array<PhenotypeModel, population_count> all{};

  auto& gran = all[static_cast<std::size_t>(Population::granulocyte)];
  gran = base({105000, 85000, 0.12, 0.22, 0.66});
  gran.markers[m_cd10] = partial(3.0, 0.6, 0.25);  // segmented neutrophils are CD10+, myelocytes not
  gran.markers[m_cd38] = pos(2.7, 0.25);
  gran.markers[m_cd45] = pos(3.35, 0.15);
  gran.markers[m_cd58] = pos(2.8);
  gran.markers[m_cd64] = pos(2.6, 0.25);
  gran.markers[m_cd11b] = pos(3.8);
  gran.markers[m_cd14] = pos(2.1, 0.25);
  gran.markers[m_hladr] = pos(1.8, 0.25);
  gran.markers[m_cd33] = pos(3.0);

  auto& eos = all[static_cast<std::size_t>(Population::eosinophil)];
  eos = base({140000, 190000, 0.1, 0.15, 0.65}, 2.2);  // autofluorescent granules
  eos.markers[m_cd45] = pos(3.8, 0.12);
  eos.markers[m_cd11b] = pos(3.5);
  eos.markers[m_cd33] = pos(2.9);
  eos.markers[m_cd38] = pos(3.1);

  auto& mono = all[static_cast<std::size_t>(Population::monocyte)];
  mono = base({80000, 38000, 0.1, 0.2, 0.68});
  mono.markers[m_cd64] = pos(3.8);
  mono.markers[m_cd14] = pos(3.9, 0.25);
  mono.markers[m_cd33] = pos(3.9, 0.15);
  mono.markers[m_hladr] = pos(3.7);
  mono.markers[m_cd11b] = pos(3.7);
  mono.markers[m_cd45] = pos(3.75, 0.12);
  mono.markers[m_cd4] = pos(2.9, 0.2);
  mono.markers[m_cd38] = pos(3.4);
  mono.markers[m_cd58] = pos(3.3);

  auto& myp = all[static_cast<std::size_t>(Population::myeloid_precursor)];
  myp = base({72000, 30000, 0.1, 0.25, 0.66});
  myp.markers[m_cd34] = pos(3.7);
  myp.markers[m_cd33] = pos(3.4);
  myp.markers[m_hladr] = pos(4.0);
  myp.markers[m_cd38] = pos(3.7);
  myp.markers[m_cd45] = pos(3.2, 0.12);
  myp.markers[m_cd64] = partial(2.6, 0.4);
  myp.markers[m_cd58] = pos(3.0);

  auto& tnk = all[static_cast<std::size_t>(Population::lymphocyte_t_nk)];
  tnk = base({55000, 13000, 0.1, 0.2, 0.75});
  tnk.markers[m_cd45] = pos(3.9, 0.1);
  tnk.markers[m_cd4] = partial(3.4, 0.45);
  tnk.markers[m_cd38] = pos(2.8, 0.3);
  tnk.markers[m_cd58] = pos(2.7);

  auto& mb = all[static_cast<std::size_t>(Population::mature_b)];
  mb = base({45000, 11000, 0.1, 0.2, 0.73});
  mb.markers[m_cd19] = pos(3.3, 0.15);
  mb.markers[m_cd20] = pos(4.0, 0.15);
  mb.markers[m_cd38] = pos(2.9, 0.25);
  mb.markers[m_cd45] = pos(3.75, 0.1);
  mb.markers[m_cd58] = pos(2.7);
  mb.markers[m_hladr] = pos(4.0, 0.15);

  // Hematogones: spreads only; the means come from hematogone_path().
  auto& hg = all[static_cast<std::size_t>(Population::hematogone)];
  hg = base({40000, 8500, 0.1, 0.2, 0.73});
  for (auto& mk : hg.markers) mk.sd = 0.15;
  hg.markers[m_syto41] = pos(3.9, 0.15);

  auto& pc = all[static_cast<std::size_t>(Population::plasma_cell)];
  pc = base({100000, 33000, 0.12, 0.25, 0.62});
  pc.markers[m_cd38] = pos(4.9, 0.15);
  pc.markers[m_cd19] = pos(2.9, 0.25);
  pc.markers[m_cd45] = pos(3.2, 0.25);
  pc.markers[m_cd58] = pos(3.3);
  pc.markers[m_hladr] = pos(2.7, 0.3);

  auto& ery = all[static_cast<std::size_t>(Population::erythroid)];
  ery = base({60000, 12000, 0.12, 0.25, 0.7});
  ery.markers[m_cd38] = pos(2.8, 0.3);
  ery.markers[m_cd58] = pos(2.6);
  ery.markers[m_syto41] = pos(3.8, 0.15);

  auto& deb = all[static_cast<std::size_t>(Population::debris)];
  deb = base({9000, 5000, 0.6, 0.7, 0.8}, 1.5);
  deb.markers[m_syto41] = MarkerModel{1.8, 0.4, 1, 1.8, 0.4};  // no nucleus: dye negative

  // Doublets and dead cells are drawn from other populations (simulator.cpp); these models only
  // give their scatter changes.
  all[static_cast<std::size_t>(Population::doublet)] = base({1.0, 1.0, 0.05, 0.1, 0.72});
  all[static_cast<std::size_t>(Population::dead)] = base({0.45, 1.3, 0.2, 0.25, 0.7});

  // Leukemic B blasts: a stage I/II-like precursor, arrested (narrower spreads); the scenario's
  // aberrancies shift these means.
  auto& bb = all[static_cast<std::size_t>(Population::blast_b)];
  bb = base({50000, 10000, 0.1, 0.2, 0.72});
  bb.markers[m_cd19] = pos(3.2, 0.18);
  bb.markers[m_cd10] = pos(3.8, 0.18);
  bb.markers[m_cd34] = pos(3.5, 0.18);
  bb.markers[m_cd20] = MarkerModel{1.6, 0.3, 1, 1.6, 0.3};
  bb.markers[m_cd38] = pos(3.8, 0.18);
  bb.markers[m_cd45] = pos(2.8, 0.18);
  bb.markers[m_cd58] = pos(3.3, 0.18);
  bb.markers[m_hladr] = pos(4.0, 0.18);

  auto& bn = all[static_cast<std::size_t>(Population::blast_b_cd19neg)];
  bn = bb;
  bn.markers[m_cd19] = MarkerModel{1.6, 0.3, 1, 1.6, 0.3};

  // Lineage-switched monocytic blasts: CD19-, CD64+, CD33 bright, HLA-DR+, CD14 negative/dim,
  // CD11b partial, CD45 dimmer than monocytes, CD34 partial; a little less SSC than monocytes.
  auto& mbl = all[static_cast<std::size_t>(Population::blast_monocytic)];
  mbl = base({85000, 30000, 0.1, 0.2, 0.68});
  mbl.markers[m_cd64] = pos(3.5, 0.2);
  mbl.markers[m_cd33] = pos(4.1, 0.15);
  mbl.markers[m_hladr] = pos(3.9, 0.2);
  mbl.markers[m_cd14] = MarkerModel{2.2, 0.35, 1, 2.2, 0.35};
  mbl.markers[m_cd11b] = partial(3.5, 0.4);
  mbl.markers[m_cd45] = pos(3.35, 0.15);
  mbl.markers[m_cd34] = partial(3.3, 0.3);
  mbl.markers[m_cd38] = pos(3.6);
  mbl.markers[m_cd4] = pos(2.7);
  mbl.markers[m_cd58] = pos(3.2);
  return all;
}

std::vector<detail::MaturationAnchor> build_path() {
  using namespace detail;
  // Columns: CD19 CD10 CD34 CD20 CD38 CD45 CD58 CD64 CD11b CD14 HLA-DR CD33 CD4 SYTO41.
  // Stage I: CD34+ CD10 bright CD38 bright CD20- CD45 dim. Early stage II: CD34 lost, CD20
  // starting. Late stage II: CD10 falling, CD20 rising, CD45 moderate. Mature: CD10- CD20 bright
  // CD45 bright CD38 dim.
  return {
      {0.0, {3.1, 3.9, 3.5, 1.6, 4.0, 2.9, 3.1, 1.6, 1.6, 1.6, 3.9, 1.6, 1.6, 3.9}, 42000, 8500},
      {0.15, {3.15, 3.9, 3.3, 1.6, 4.0, 3.0, 3.1, 1.6, 1.6, 1.6, 3.9, 1.6, 1.6, 3.9}, 41000, 8500},
      {0.35, {3.2, 3.75, 1.8, 2.1, 4.0, 3.2, 3.0, 1.6, 1.6, 1.6, 3.9, 1.6, 1.6, 3.9}, 40000, 8500},
      {0.7, {3.25, 3.1, 1.6, 3.4, 3.6, 3.5, 2.85, 1.6, 1.6, 1.6, 4.0, 1.6, 1.6, 3.9}, 41000, 9000},
      {1.0, {3.3, 1.7, 1.6, 4.0, 3.0, 3.75, 2.7, 1.6, 1.6, 1.6, 4.0, 1.6, 1.6, 3.9}, 45000, 11000},
  };
}

}  // namespace

const std::array<Population, population_count>& all_populations() noexcept {
  static const std::array<Population, population_count> all = [] {
    std::array<Population, population_count> a{};
    for (std::size_t i = 0; i < population_count; ++i) a[i] = static_cast<Population>(i);
    return a;
  }();
  return all;
}

std::string_view population_name(Population p) noexcept {
  const auto i = static_cast<std::size_t>(p);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

std::optional<Population> population_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Population>(i);
  }
  return std::nullopt;
}

const std::array<std::string_view, 14>& known_markers() noexcept { return marker_keys; }

std::optional<std::string_view> canonical_marker(std::string_view marker) noexcept {
  const std::string key = squash(marker);
  for (const auto m : marker_keys) {
    if (squash(m) == key) return m;
  }
  return std::nullopt;
}

namespace detail {

const PhenotypeModel& model_for(Population p) noexcept {
  static const std::array<PhenotypeModel, population_count> models = build_models();
  return models[static_cast<std::size_t>(p)];
}

const std::vector<MaturationAnchor>& hematogone_path() noexcept {
  static const std::vector<MaturationAnchor> path = build_path();
  return path;
}

}  // namespace detail

}  // namespace flowmrd::samples
