// plantctl energy: the energy-carbon model and its values.
//   energy tree                      the tree with meters and indicators
//   energy export -o FILE            the whole model as JSON, or as the workbook
//                                    an energy manager fills in (FILE.xlsx)
//   energy import FILE               replace the whole model (checked first);
//                                    FILE.xlsx: create and update the records of
//                                    its rows, all or nothing [--dry-run]
//   energy enter ID DATE VALUE       a daily value (manual indicator or product)
//   energy entries FILE [--note N]   daily values from a CSV or .xlsx sheet
//   energy audit [--last N]          who changed what (record before/after)
//   energy report NODE [--resolution day --from D --to D] [--format csv|xlsx -o FILE]
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "apps/plantctl/control_cmds.hpp"

namespace plantd::apps {

struct energy_args {
  std::string action;  // tree | export | import | enter | report | audit
  std::string file, id, date, node, resolution = "day", from, to, format, note, language;
  bool dry_run = false;
  double value = 0;
  unsigned last = 20;
};

int energy(const control_opts& o, const std::shared_ptr<grpc::Channel>& ch, const energy_args& a);

}  // namespace plantd::apps
