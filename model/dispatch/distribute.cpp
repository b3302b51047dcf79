#include "model/dispatch/rules.hpp"

#include <algorithm>

namespace plantd::dispatch::rules {

std::vector<double> split(double total, const std::vector<double>& cap,
                          const std::vector<double>& weight) {
  std::vector<double> out(cap.size(), 0);
  std::vector<bool> open(cap.size());
  for (std::size_t i = 0; i < cap.size(); ++i)
    open[i] = cap[i] > 0 && weight[i] > 0;
  double remaining = total;
  for (std::size_t round = 0; round < cap.size() && remaining > 1e-9; ++round) {
    double wsum = 0;
    for (std::size_t i = 0; i < cap.size(); ++i)
      if (open[i])
        wsum += weight[i];
    if (wsum <= 0)
      break;
    bool clipped = false;
    for (std::size_t i = 0; i < cap.size(); ++i) {
      if (!open[i])
        continue;
      double share = remaining * weight[i] / wsum;
      if (out[i] + share >= cap[i]) {
        clipped = true;
        remaining -= cap[i] - out[i];
        out[i] = cap[i];
        open[i] = false;
      }
    }
    if (clipped)
      continue;  // shares changed: distribute the rest again
    for (std::size_t i = 0; i < cap.size(); ++i)
      if (open[i])
        out[i] += remaining * weight[i] / wsum;
    remaining = 0;
  }
  return out;
}

std::vector<double> distribute(double w, const cabinet_limits& lim, const snapshot& s,
                               const plant::soc_bounds& soc) {
  const auto n = s.cabinets.size();
  std::vector<double> weight(n);
  if (w > 0) {
    for (std::size_t i = 0; i < n; ++i)
      weight[i] = lim.discharge_cap[i] * (1 + std::max(0.0, s.cabinets[i].soc - soc.min_percent));
    return split(w, lim.discharge_cap, weight);
  }
  if (w < 0) {
    for (std::size_t i = 0; i < n; ++i)
      weight[i] = lim.charge_cap[i] * (1 + std::max(0.0, soc.max_percent - s.cabinets[i].soc));
    auto out = split(-w, lim.charge_cap, weight);
    for (auto& x : out)
      x = -x;
    return out;
  }
  return std::vector<double>(n, 0.0);
}

}  // namespace plantd::dispatch::rules
