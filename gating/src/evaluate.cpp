// SPDX-License-Identifier: Apache-2.0
// apply_gates: a strategy is compiled once into a plan (distinct dimensions, the compensations
// they need, one kernel per population in dependency order), then every chunk of 65,536 events
// goes through: copy raw values -> compensate -> transform -> evaluate each population into its
// mask words. Chunks are a multiple of 64 events, so each chunk owns whole mask words and chunks
// run in parallel without sharing anything: the result does not depend on the thread count.
#include "flowmrd/gating/evaluate.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>

#include <Eigen/Dense>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "gate_kernels.hpp"

namespace flowmrd::gating {

GatingResult::GatingResult(std::size_t events, std::vector<PopulationCount> counts, std::vector<Mask> masks,
                           std::vector<std::string> notes)
    : events_(events), counts_(std::move(counts)), masks_(std::move(masks)), notes_(std::move(notes)) {}

const Mask& GatingResult::mask(const std::string& id) const {
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i].id == id) return masks_[i];
  }
  throw GatingError("no population '" + id + "' in the gating result");
}

const PopulationCount& GatingResult::count(const std::string& id) const {
  for (const auto& c : counts_) {
    if (c.id == id) return c;
  }
  throw GatingError("no population '" + id + "' in the gating result");
}

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 16;  // events per chunk; a multiple of 64
static_assert(kChunk % 64 == 0);

// Where one channel value comes from: a raw data set column, or output `output` of compensation
// `comp` of the plan.
struct Source {
  int column = -1;      // data set column when raw
  int comp = -1;        // index into Plan::comps when compensated
  std::size_t output = 0;
};

struct PlanComp {
  const Compensation* matrix = nullptr;
  std::vector<std::size_t> columns;  // data set column of each matrix channel
};

struct PlanDim {
  Dimension dim;
  Source a;  // the channel, or the ratio's numerator
  Source b;  // the ratio's denominator
  bool is_ratio = false;
  double ra = 1, rb = 0, rc = 0;
  Bounds ratio_bounds;
  std::optional<Transform> transform;
  Bounds bounds;  // of the transform's result
};

struct PlanGate {
  std::size_t population = 0;
  int parent = -1;  // population index, -1 = root
  const Gate* gate = nullptr;
  std::vector<std::size_t> dims;  // plan dimension of each gate dimension
  // Precomputed per kind:
  std::vector<Interval> intervals;                    // rectangle, quadrant
  std::vector<double> inverse_covariance;             // ellipsoid
  std::vector<std::pair<std::size_t, bool>> operands; // boolean: population index, complement
};

struct Plan {
  std::size_t rows = 0;
  std::vector<PlanComp> comps;
  std::vector<PlanDim> dims;
  std::vector<PlanGate> gates;  // in evaluation order
  Precision precision = Precision::exact;
  std::unique_ptr<Compensation> own_file_comp;  // the data set's matrix when "FCS" is used
  bool file_comp_missing = false;               // "FCS" used on a data set without a matrix
  std::vector<std::string> notes;
};

std::string channel_list(const fcs::Dataset& ds) {
  std::string out;
  for (std::size_t i = 0; i < ds.channels.size() && i < 40; ++i) {
    if (i) out += ", ";
    out += ds.channels[i].name;
  }
  return out;
}

class Compiler {
 public:
  Compiler(const GatingStrategy& s, const fcs::Dataset& ds, const GateOptions& o, Plan& plan)
      : s_(s), ds_(ds), o_(o), plan_(plan) {}

  std::size_t dimension(const Dimension& d, const std::string& who) {
    for (std::size_t i = 0; i < plan_.dims.size(); ++i) {
      if (plan_.dims[i].dim == d) return i;
    }
    PlanDim pd;
    pd.dim = d;
    if (d.ratio) {
      pd.is_ratio = true;
      pd.a = source(d.ratio->numerator, d.compensation, who);
      pd.b = source(d.ratio->denominator, d.compensation, who);
      pd.ra = d.ratio->a;
      pd.rb = d.ratio->b;
      pd.rc = d.ratio->c;
      pd.ratio_bounds = d.ratio->bounds;
    } else {
      pd.a = source(d.channel, d.compensation, who);
    }
    if (!d.transform.empty()) {
      pd.transform.emplace(s_.transforms.at(d.transform));
      if (auto b = s_.transform_bounds.find(d.transform); b != s_.transform_bounds.end()) pd.bounds = b->second;
    }
    plan_.dims.push_back(std::move(pd));
    return plan_.dims.size() - 1;
  }

 private:
  int column(const std::string& name, const std::string& who) const {
    const int c = ds_.find_channel(name);
    if (c < 0) {
      throw GatingError(who + ": channel '" + name + "' is not in the data set (channels: " + channel_list(ds_) + ")");
    }
    return c;
  }

  int comp_index(const Compensation* m, const std::string& who) {
    for (std::size_t i = 0; i < plan_.comps.size(); ++i) {
      if (plan_.comps[i].matrix == m) return static_cast<int>(i);
    }
    PlanComp pc;
    pc.matrix = m;
    for (const auto& ch : m->channels()) pc.columns.push_back(static_cast<std::size_t>(column(ch, who + " (compensation channel)")));
    plan_.comps.push_back(std::move(pc));
    return static_cast<int>(plan_.comps.size() - 1);
  }

  // The matrix "FCS" means, or nullptr when the data set has none (values stay uncompensated).
  const Compensation* file_matrix() {
    if (o_.file_compensation != nullptr) return o_.file_compensation;
    if (!plan_.own_file_comp && !plan_.file_comp_missing) {
      auto c = Compensation::from_dataset(ds_);
      if (c) {
        plan_.own_file_comp = std::make_unique<Compensation>(std::move(*c));
      } else {
        plan_.file_comp_missing = true;
        plan_.notes.push_back(
            "compensation 'FCS' refers to the file's spillover matrix, but the data set has none (no SPILL, "
            "spillover, $SPILLOVER, $COMP or $DFC keyword): those dimensions are uncompensated");
      }
    }
    return plan_.own_file_comp.get();
  }

  Source source(const std::string& name, const std::string& comp, const std::string& who) {
    Source src;
    if (comp == kUncompensated) {
      src.column = column(name, who);
      return src;
    }
    const Compensation* m = comp == kFileCompensation ? file_matrix() : &s_.compensations.at(comp);
    if (m == nullptr) {
      src.column = column(name, who);
      return src;
    }
    // A dimension names a matrix output by fluorochrome (Gating-ML spectrumMatrix) or by detector.
    std::optional<std::size_t> out;
    if (auto f = s_.fluorochromes.find(comp); f != s_.fluorochromes.end()) {
      const auto it = std::find(f->second.begin(), f->second.end(), name);
      if (it != f->second.end()) out = static_cast<std::size_t>(it - f->second.begin());
    }
    if (!out) {
      const auto& ch = m->channels();
      const auto it = std::find(ch.begin(), ch.end(), name);
      if (it != ch.end()) out = static_cast<std::size_t>(it - ch.begin());
    }
    if (!out) {
      // Not in the matrix: compensation leaves the channel as it is.
      src.column = column(name, who);
      return src;
    }
    src.comp = comp_index(m, who);
    src.output = *out;
    return src;
  }

  const GatingStrategy& s_;
  const fcs::Dataset& ds_;
  const GateOptions& o_;
  Plan& plan_;
};

std::vector<double> invert(const EllipsoidGate& e, const std::string& who) {
  const auto n = static_cast<Eigen::Index>(e.dimensions.size());
  Eigen::MatrixXd c(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) c(i, j) = e.covariance[static_cast<std::size_t>(i * n + j)];
  }
  Eigen::FullPivLU<Eigen::MatrixXd> lu(c);
  if (!lu.isInvertible()) throw GatingError(who + ": the covariance matrix is singular");
  const Eigen::MatrixXd inv = lu.inverse();
  std::vector<double> out(static_cast<std::size_t>(n * n));
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) out[static_cast<std::size_t>(i * n + j)] = inv(i, j);
  }
  return out;
}

// The interval of a divider that holds `location`: between consecutive divider values, min
// inclusive, max exclusive; below the first value or above the last it is open on that side.
Interval divider_interval(const QuadrantDivider& d, double location) {
  Interval iv;
  const auto it = std::upper_bound(d.values.begin(), d.values.end(), location);
  if (it != d.values.begin()) iv.min = *(it - 1);
  if (it != d.values.end()) iv.max = *it;
  return iv;
}

Plan compile(const GatingStrategy& s, const fcs::Dataset& ds, const GateOptions& o) {
  s.validate();
  Plan plan;
  plan.rows = ds.events.rows();
  plan.precision = o.precision;
  Compiler compiler(s, ds, o, plan);
  for (std::size_t idx : s.evaluation_order()) {
    const Population& p = s.populations[idx];
    const std::string who = std::string{"population '"} + p.id + "'";
    PlanGate g;
    g.population = idx;
    g.gate = &p.gate;
    if (p.parent) g.parent = static_cast<int>(*s.index_of(*p.parent));
    for (const auto& d : gate_dimensions(p.gate)) g.dims.push_back(compiler.dimension(d, who));
    if (const auto* r = std::get_if<RectangleGate>(&p.gate)) {
      g.intervals = r->ranges;
    } else if (const auto* q = std::get_if<QuadrantGate>(&p.gate)) {
      for (const auto& pos : q->positions) g.intervals.push_back(divider_interval(q->dividers[pos.divider], pos.location));
    } else if (const auto* e = std::get_if<EllipsoidGate>(&p.gate)) {
      g.inverse_covariance = invert(*e, who);
    } else if (const auto* b = std::get_if<BooleanGate>(&p.gate)) {
      for (const auto& op : b->operands) g.operands.emplace_back(*s.index_of(op.ref), op.complement);
    }
    plan.gates.push_back(std::move(g));
  }
  return plan;
}

// Per-thread scratch for one chunk.
struct Scratch {
  std::vector<std::vector<double>> comp;  // per plan compensation: channels x kChunk
  std::vector<std::vector<double>> dims;  // per plan dimension: kChunk values
  std::vector<float> fbuf;                // fast-precision transform output
  std::vector<double> denom;              // a ratio dimension's denominator
  std::vector<std::uint64_t> region;      // kChunk / 64 words
  std::vector<std::uint8_t> flags;        // kChunk bytes
  std::vector<std::vector<std::uint64_t>> done;  // per dimension: events already transformed
  bool fast = false;
};

void copy_raw(const fcs::EventMatrix& m, std::size_t col, std::size_t first, std::size_t n, double* out) {
  if (m.type(col) == fcs::ColumnType::f64) {
    const auto v = m.f64(col).subspan(first, n);
    std::copy(v.begin(), v.end(), out);
  } else {
    const auto v = m.f32(col).subspan(first, n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(v[i]);
  }
}

void transform_all(const PlanDim& pd, std::size_t n, std::vector<double>& out, Scratch& sc) {
  if (sc.fast) {
    pd.transform->apply(std::span<const double>(out.data(), n), std::span<float>(sc.fbuf.data(), n));
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(sc.fbuf[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = pd.transform->apply(out[i]);
  }
  if (!pd.bounds.empty()) {
    for (std::size_t i = 0; i < n; ++i) out[i] = pd.bounds.clamp(out[i]);
  }
}

// Raw (or compensated, or ratio) values of every dimension for one chunk; transforms applied
// here in fast precision or when `lazy` is false, else per gate by ensure_transformed.
void fill_dimensions(const Plan& plan, const fcs::Dataset& ds, std::size_t first, std::size_t n, Scratch& sc,
                     bool lazy) {
  // Compensate each matrix once per chunk.
  for (std::size_t c = 0; c < plan.comps.size(); ++c) {
    const auto& pc = plan.comps[c];
    auto& buf = sc.comp[c];
    std::vector<double*> cols(pc.columns.size());
    for (std::size_t j = 0; j < pc.columns.size(); ++j) {
      cols[j] = buf.data() + j * kChunk;
      copy_raw(ds.events, pc.columns[j], first, n, cols[j]);
    }
    pc.matrix->apply(std::span<double* const>(cols), 0, n);
  }
  auto value_of = [&](const Source& src, std::vector<double>& out) {
    if (src.comp >= 0) {
      const double* p = sc.comp[static_cast<std::size_t>(src.comp)].data() + src.output * kChunk;
      std::copy(p, p + n, out.begin());
    } else {
      copy_raw(ds.events, static_cast<std::size_t>(src.column), first, n, out.data());
    }
  };
  std::vector<double>& denom = sc.denom;
  for (std::size_t d = 0; d < plan.dims.size(); ++d) {
    const auto& pd = plan.dims[d];
    auto& out = sc.dims[d];
    value_of(pd.a, out);
    if (pd.is_ratio) {
      value_of(pd.b, denom);
      for (std::size_t i = 0; i < n; ++i) out[i] = pd.ratio_bounds.clamp(fratio(out[i], denom[i], pd.ra, pd.rb, pd.rc));
    }
    if (!pd.transform) continue;
    if (plan.precision == Precision::fast || !lazy) {
      transform_all(pd, n, out, sc);
    } else {
      // Exact transforms cost tens of nanoseconds per value: they are applied later, per gate,
      // only to the events of the gate's parent (ensure_transformed).
      std::fill(sc.done[d].begin(), sc.done[d].end(), 0);
    }
  }
}

// Exact-precision transform of dimension d for the events in `need` (ceil(n / 64) words; nullptr
// = all) that are not transformed yet. Values of events outside every parent that uses d stay
// untransformed, and no gate result looks at them: each gate's result is cut to its parent.
void ensure_transformed(const Plan& plan, std::size_t d, const std::uint64_t* need, std::size_t n, Scratch& sc) {
  const auto& pd = plan.dims[d];
  if (!pd.transform || plan.precision == Precision::fast) return;
  auto& out = sc.dims[d];
  auto& done = sc.done[d];
  const std::size_t nw = (n + 63) / 64;
  for (std::size_t w = 0; w < nw; ++w) {
    std::uint64_t todo = (need ? need[w] : ~std::uint64_t{0}) & ~done[w];
    if (w == nw - 1 && n % 64 != 0) todo &= (std::uint64_t{1} << (n % 64)) - 1;
    done[w] |= todo;
    while (todo != 0) {
      const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(todo));
      out[i] = pd.bounds.clamp(pd.transform->apply(out[i]));
      todo &= todo - 1;
    }
  }
}

void evaluate_chunk(const Plan& plan, const fcs::Dataset& ds, std::size_t chunk, std::vector<Mask>& masks, Scratch& sc) {
  const std::size_t first = chunk * kChunk;
  const std::size_t n = std::min(kChunk, plan.rows - first);
  const std::size_t w0 = first / 64;
  const std::size_t nw = (n + 63) / 64;
  fill_dimensions(plan, ds, first, n, sc, true);

  for (const auto& g : plan.gates) {
    std::uint64_t* region = sc.region.data();
    const std::uint64_t* parent_words =
        g.parent >= 0 ? masks[static_cast<std::size_t>(g.parent)].words().data() + w0 : nullptr;
    for (std::size_t d : g.dims) ensure_transformed(plan, d, parent_words, n, sc);
    if (const auto* b = std::get_if<BooleanGate>(g.gate)) {
      for (std::size_t w = 0; w < nw; ++w) {
        std::uint64_t acc = b->op == BooleanGate::Op::and_ ? ~std::uint64_t{0} : 0;
        for (const auto& [pop, complement] : g.operands) {
          std::uint64_t v = masks[pop].words()[w0 + w];
          if (complement) v = ~v;
          if (b->op == BooleanGate::Op::and_) acc &= v;
          else acc |= v;
        }
        region[w] = b->op == BooleanGate::Op::not_ ? ~acc : acc;
      }
    } else {
      std::uint8_t* in = sc.flags.data();
      if (std::holds_alternative<RectangleGate>(*g.gate) || std::holds_alternative<QuadrantGate>(*g.gate)) {
        std::vector<const double*> cols;
        for (std::size_t d : g.dims) cols.push_back(sc.dims[d].data());
        kernels::in_box(cols, g.intervals, n, in);
      } else if (const auto* poly = std::get_if<PolygonGate>(g.gate)) {
        kernels::in_polygon(sc.dims[g.dims[0]].data(), sc.dims[g.dims[1]].data(), poly->vertices, n, region);
      } else if (const auto* e = std::get_if<EllipsoidGate>(g.gate)) {
        std::vector<const double*> cols;
        for (std::size_t d : g.dims) cols.push_back(sc.dims[d].data());
        kernels::in_ellipsoid(cols, e->mean, g.inverse_covariance, e->distance_square, n, in);
      }
      if (!std::holds_alternative<PolygonGate>(*g.gate)) kernels::pack(in, n, region);
    }
    // Inside the parent, and never past the last event.
    std::uint64_t* out = masks[g.population].words().data() + w0;
    const std::uint64_t* parent = g.parent >= 0 ? masks[static_cast<std::size_t>(g.parent)].words().data() + w0 : nullptr;
    for (std::size_t w = 0; w < nw; ++w) out[w] = parent ? (region[w] & parent[w]) : region[w];
    if (n % 64 != 0) out[nw - 1] &= (std::uint64_t{1} << (n % 64)) - 1;
  }
}

template <class F>
void run_chunks(unsigned threads, std::size_t rows, F&& body) {
  const std::size_t chunks = (rows + kChunk - 1) / kChunk;
  tbb::task_arena arena(threads == 0 ? tbb::task_arena::automatic : static_cast<int>(threads));
  arena.execute([&] { tbb::parallel_for(std::size_t{0}, chunks, [&](std::size_t c) { body(c); }); });
}

Scratch make_scratch(const Plan& plan) {
  Scratch sc;
  for (const auto& c : plan.comps) sc.comp.emplace_back(c.columns.size() * kChunk);
  sc.dims.assign(plan.dims.size(), std::vector<double>(kChunk));
  sc.fbuf.resize(kChunk);
  sc.denom.resize(kChunk);
  sc.region.resize(kChunk / 64);
  sc.flags.resize(kChunk);
  sc.done.assign(plan.dims.size(), std::vector<std::uint64_t>(kChunk / 64));
  sc.fast = plan.precision == Precision::fast;
  return sc;
}

}  // namespace

GatingResult apply_gates(const GatingStrategy& strategy, const fcs::Dataset& ds, const GateOptions& options) {
  const Plan plan = compile(strategy, ds, options);
  const std::size_t rows = plan.rows;
  std::vector<Mask> masks(strategy.populations.size(), Mask(rows));
  if (rows > 0 && !plan.gates.empty()) {
    // One scratch per worker thread, made on first use; its contents never outlive a chunk.
    tbb::enumerable_thread_specific<Scratch> scratch([&] { return make_scratch(plan); });
    run_chunks(options.threads, rows, [&](std::size_t chunk) {
      evaluate_chunk(plan, ds, chunk, masks, scratch.local());
    });
  }
  std::vector<PopulationCount> counts;
  counts.reserve(strategy.populations.size());
  for (std::size_t i = 0; i < strategy.populations.size(); ++i) {
    const Population& p = strategy.populations[i];
    PopulationCount c;
    c.id = p.id;
    c.name = p.name;
    c.path = strategy.path(p.id);
    c.parent = p.parent;
    c.events = masks[i].count();
    counts.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const std::size_t parent_events = counts[i].parent ? counts[*strategy.index_of(*counts[i].parent)].events : rows;
    counts[i].percent_of_parent = parent_events ? 100.0 * static_cast<double>(counts[i].events) / static_cast<double>(parent_events) : 0.0;
    counts[i].percent_of_total = rows ? 100.0 * static_cast<double>(counts[i].events) / static_cast<double>(rows) : 0.0;
  }
  return GatingResult(rows, std::move(counts), std::move(masks), plan.notes);
}

std::vector<double> dimension_values(const GatingStrategy& strategy, const Dimension& dim, const fcs::Dataset& ds,
                                     const GateOptions& options) {
  Plan plan;
  plan.rows = ds.events.rows();
  plan.precision = options.precision;
  Compiler compiler(strategy, ds, options, plan);
  const std::size_t d = compiler.dimension(dim, "dimension " + dim.label());
  std::vector<double> out(plan.rows);
  tbb::enumerable_thread_specific<Scratch> scratch([&] { return make_scratch(plan); });
  run_chunks(options.threads, plan.rows, [&](std::size_t chunk) {
    Scratch& sc = scratch.local();
    const std::size_t first = chunk * kChunk;
    const std::size_t n = std::min(kChunk, plan.rows - first);
    fill_dimensions(plan, ds, first, n, sc, false);
    std::copy(sc.dims[d].begin(), sc.dims[d].begin() + static_cast<std::ptrdiff_t>(n), out.begin() + static_cast<std::ptrdiff_t>(first));
  });
  return out;
}

namespace {
template <class T>
std::optional<double> median_impl(std::span<const T> values, const Mask& mask) {
  if (values.size() != mask.size()) {
    throw std::invalid_argument("median: " + std::to_string(values.size()) + " values for a mask of " +
                                std::to_string(mask.size()) + " events");
  }
  std::vector<double> v;
  v.reserve(mask.count());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (mask.test(i) && !std::isnan(values[i])) v.push_back(static_cast<double>(values[i]));
  }
  if (v.empty()) return std::nullopt;
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double hi = v[mid];
  if (v.size() % 2 == 1) return hi;
  const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return lo + (hi - lo) / 2;
}
}  // namespace

std::optional<double> median(std::span<const double> values, const Mask& mask) { return median_impl(values, mask); }
std::optional<double> median(std::span<const float> values, const Mask& mask) { return median_impl(values, mask); }

}  // namespace flowmrd::gating
