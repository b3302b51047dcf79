// Compiled with plantd_model's include root only: compiles (the control of
// model_includes_drivers.cpp).
#include "model/common/errc.hpp"
