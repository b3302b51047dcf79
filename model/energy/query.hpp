// A query of the energy-carbon indicators: which indicators over which
// periods (the spec, parsed from what a client writes), which ones it reads
// (the plan) and their series, computed by an engine. Pure: the energy actor
// supplies the engine (its own, or one of stored hours for the past).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <absl/time/time.h>

#include "model/common/expected.hpp"
#include "model/energy/engine.hpp"
#include "model/energy/model.hpp"

namespace plantd::energy {

struct query_spec {
  std::vector<std::string> indicators;  // asked by id, in this order
  std::string node;                     // and a unit's or meter's own (empty: none)
  resolution res = resolution::day;
  int64_t first = 0, last = 0;  // period indexes, inclusive
  // An unknown indicator fails the query (a report's columns); otherwise
  // it is answered in its own series, with its error.
  bool strict = false;
};

// The periods of `resolution` ("hour", "day" (the default when empty),
// "month", "year") from `from` to `to` (inclusive; empty: from alone),
// written YYYY-MM-DD, YYYY-MM or YYYY as the resolution asks; at most
// 20,000. Sets res, first and last of `spec`.
result parse_span(std::string_view resolution, std::string_view from, std::string_view to,
                  query_spec& spec);
std::vector<period> periods_of(const query_spec& q);

struct query_plan {
  std::vector<std::string> order;  // every id asked, in the order of the series
  std::vector<std::string> known;  // those that are indicators of the model
};
expected<query_plan, failure> plan_query(const model& m, const query_spec& q);

// A version of a coefficient, CO2 factor or price used, and the first and
// last period it was used in.
struct version_range {
  std::string what, version, source;
  double value = 0;
  std::string first_period, last_period;
};

struct query_series {
  std::string id;
  std::string error;  // not an indicator: nothing else is set
  std::string name, path, unit, energy_type;
  std::vector<std::string> periods;
  std::vector<double> values;
  std::vector<uint8_t> qualities;  // each a quality (model/common/quality.hpp), as its code
  std::vector<version_range> versions;
};

// The series of a plan, in its order, as `eng` computes them at `now`.
std::vector<query_series> evaluate(const model& m, engine& eng, const query_plan& plan,
                                   const query_spec& q, absl::Time now);

}  // namespace plantd::energy
