// The point tables a process knows: the ones shipped in
// drivers/pointtables/*.json (compiled in), plus any directory of *.json
// files an integrator adds (same name: the file wins).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "drivers/pointtables/point_table.hpp"
#include "model/plant/config.hpp"

namespace plantd::pointtables {

// What a table lacks to serve `role` ("meter", "inverter", "cabinet", "io"):
// a meter needs readable active power (total or per phase), an inverter its
// AC power and a writable power limit, a cabinet its power, SOC and a
// writable setpoint. Empty when it serves.
problems role_problems(const table& t, std::string_view role);

class registry {
public:
  // The shipped tables. A shipped table that does not parse is a bug: it
  // throws std::logic_error naming the table and its problems.
  static registry builtin();

  // Adds every *.json in `dir`. Returns the problems of the files that do
  // not load, each path prefixed with the file name; the others are added.
  problems add_directory(const std::filesystem::path& dir);

  // Adds one table from text; problems are prefixed with `origin`.
  problems add(const std::string& origin, std::string_view json_text);

  const table* find(std::string_view name) const;
  std::vector<std::string> names() const;

  // Problems for every point table `cfg` names that this registry lacks, or
  // that lacks a point the device's role needs (role_problems).
  problems check(const plant::config& cfg) const;

private:
  std::map<std::string, std::shared_ptr<const table>, std::less<>> tables_;
};

}  // namespace plantd::pointtables
