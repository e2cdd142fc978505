// SPDX-License-Identifier: Apache-2.0
/// @file populations.hpp
/// The cell populations the simulator draws: their labels and phenotype models.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace flowmrd::samples {

/// Every population an event can belong to. The numeric value is the per-event label code in
/// the truth file, so the order never changes once released; new populations go at the end.
enum class Population : std::uint8_t {
  granulocyte = 0,        ///< Neutrophils, myelocytes to segmented (high SSC, CD45 moderate).
  eosinophil = 1,         ///< Highest SSC, CD45 bright, autofluorescent.
  monocyte = 2,           ///< CD64+ CD14+ CD33 bright HLA-DR+ CD11b+ CD45 bright.
  myeloid_precursor = 3,  ///< CD34+ CD33+ HLA-DR+ CD45 dim, CD19-.
  lymphocyte_t_nk = 4,    ///< CD45 bright, low SSC, B- and myeloid-negative.
  mature_b = 5,           ///< CD19+ CD20 bright CD10- CD45 bright.
  hematogone = 6,         ///< Normal B-cell precursors: a maturation continuum (stage I -> mature).
  plasma_cell = 7,        ///< CD38 very bright, CD19+ dim, CD20-, CD45 dim.
  erythroid = 8,          ///< Nucleated erythroid precursors: CD45-, low scatter.
  debris = 9,             ///< Low FSC/SSC, nucleic-acid dye negative: outside the denominator.
  doublet = 10,           ///< Two cells together: FSC-A high for its FSC-H; outside the denominator.
  dead = 11,              ///< Dead cells: low FSC, raised SSC, dim staining; outside the denominator.
  blast_b = 12,           ///< Leukemic B blasts, CD19+.
  blast_b_cd19neg = 13,   ///< Leukemic B blasts that lost CD19 (immunotherapy escape).
  blast_monocytic = 14,   ///< Lineage-switched monocytic blasts.
};

/// Number of populations (label codes 0 .. count-1).
inline constexpr std::size_t population_count = 15;

/// All populations in code order.
[[nodiscard]] const std::array<Population, population_count>& all_populations() noexcept;

/// The snake_case name used in scenario files and truth files ("hematogone", "blast_b", ...).
[[nodiscard]] std::string_view population_name(Population p) noexcept;

/// The population named `name`, if any.
[[nodiscard]] std::optional<Population> population_from_name(std::string_view name) noexcept;

/// Whether events of `p` count in the MRD denominator (nucleated, viable, single cells).
[[nodiscard]] constexpr bool in_denominator(Population p) noexcept {
  return p != Population::debris && p != Population::doublet && p != Population::dead;
}

/// Whether `p` is leukemic.
[[nodiscard]] constexpr bool is_blast(Population p) noexcept {
  return p == Population::blast_b || p == Population::blast_b_cd19neg ||
         p == Population::blast_monocytic;
}

/// The canonical marker keys the phenotype models know, in a fixed order. Profile fluorescence
/// channels name one of these (matched case-insensitively, "HLADR" and "HLA DR" accepted).
[[nodiscard]] const std::array<std::string_view, 14>& known_markers() noexcept;

/// The canonical key for a marker spelling, or nullopt when unknown.
[[nodiscard]] std::optional<std::string_view> canonical_marker(std::string_view marker) noexcept;

}  // namespace flowmrd::samples
