// Compiled with plantd_model's include root only: must not compile (a model
// file cannot reach drivers/). See test/CMakeLists.txt.
#include "model/common/errc.hpp"
#include "drivers/modbus/link.hpp"
