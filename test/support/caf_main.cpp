// Catch2's main for test executables that use the CAF test coordinator.
// Catch2 comes first: CAF's dsl.hpp calls FAIL, which Catch2 defines.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#define CAF_TEST_NO_MAIN
#include <caf/test/unit_test_impl.hpp>
