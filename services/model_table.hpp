// The energy-carbon model as the workbook an energy manager fills in: one
// sheet per kind of record, a row a record, a column a field (see
// EnergyCarbonService.ImportModelTable in energy.proto).
//
// Export: model_sheets() writes the sheets of a model. Import:
// plan_model_import() reads the sheets against the model as stored and
// gives the Put of every row that changes a record (the record merged with
// the columns the sheet has), or the rows it refuses and why. Applying the
// Puts (in an order the references allow) is the energy service's.
#pragma once

#include <string>
#include <vector>

#include "plantd/v1/energy.pb.h"
#include "services/entry_table.hpp"

namespace plantd::services {

// The sheets of `m`, headers in Chinese (`zh`) or English.
std::vector<table_sheet> model_sheets(const v1::EnergyModel& m, bool zh);

struct model_row_refusal {
  std::string sheet;
  int line = 0;  // the sheet's row; 0: the sheet as a whole
  std::string reason;
};

struct model_row_put {
  std::string sheet;
  int line = 0;
  v1::PutRequest put;
  bool create = false;  // no such record yet
};

struct model_import_plan {
  std::vector<model_row_put> puts;  // in sheet order; units parents first
  unsigned unchanged = 0;           // rows equal to the record stored
  std::vector<model_row_refusal> refused;
};

model_import_plan plan_model_import(const std::vector<named_table>& sheets,
                                    const v1::EnergyModel& current);

}  // namespace plantd::services
