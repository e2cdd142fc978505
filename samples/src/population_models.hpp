// SPDX-License-Identifier: Apache-2.0
/// @file population_models.hpp
/// Private: the phenotype and scatter models behind each population (populations.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "flowmrd/samples/populations.hpp"

namespace flowmrd::samples::detail {

/// Number of known markers (known_markers()).
inline constexpr std::size_t marker_count = 14;

/// Index of each marker in known_markers().
enum MarkerIndex : std::size_t {
  m_cd19, m_cd10, m_cd34, m_cd20, m_cd38, m_cd45, m_cd58, m_cd64, m_cd11b, m_cd14, m_hladr, m_cd33,
  m_cd4, m_syto41
};

/// Log-normal expression of one marker: log10(true intensity) ~ N(mu, sd) for the positive part
/// (probability `positive`), else N(negative_mu, negative_sd) (partial expression).
struct MarkerModel {
  double mu = 1.6;
  double sd = 0.3;
  double positive = 1;
  double negative_mu = 1.6;
  double negative_sd = 0.3;
};

/// Scatter of one population: medians and coefficients of variation (log-normal).
struct ScatterModel {
  double fsc = 50000;
  double ssc = 10000;
  double fsc_cv = 0.12;
  double ssc_cv = 0.2;
  double height_ratio = 0.72;  ///< FSC-H / FSC-A (and SSC-H / SSC-A) of single cells.
};

/// A population's phenotype.
struct PhenotypeModel {
  std::array<MarkerModel, marker_count> markers{};
  ScatterModel scatter{};
};

/// One anchor of the hematogone maturation path: the phenotype at maturation t.
struct MaturationAnchor {
  double t = 0;
  std::array<double, marker_count> mu{};
  double fsc = 40000;
  double ssc = 8500;
};

/// The fixed model of a population (blasts before scenario aberrancies; hematogones use
/// `hematogone_path` for their means and this model for spreads).
[[nodiscard]] const PhenotypeModel& model_for(Population p) noexcept;

/// The hematogone maturation path, t ascending from 0 (stage I) to 1 (mature naive B).
[[nodiscard]] const std::vector<MaturationAnchor>& hematogone_path() noexcept;

}  // namespace flowmrd::samples::detail
